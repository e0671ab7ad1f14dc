// libsio chat, the browser side. It speaks the event protocol of docs/chat-protocol.md
// through the official Socket.IO client (window.io, served at /socket.io/socket.io.js).
//
// State lives in a few plain objects; the DOM is updated by small functions, one per kind
// of change. Each joined room keeps its own message list element, so switching rooms only
// shows another list.
'use strict';

const MAX_IMAGE = 1024 * 1024; // the server's default limit (--max-image)
const MAX_NAME = 32;
const TYPING_IDLE_MS = 2500; // stop "typing" after this long without a key press
const TYPING_REPEAT_MS = 3000; // while typing, say so again this often
const TYPING_EXPIRE_MS = 6000; // forget someone's "typing" if nothing renews it
const ACK_TIMEOUT_MS = 15000;
const GROUP_MS = 5 * 60 * 1000; // consecutive messages of one author within this are grouped

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
};

const state = {
  me: null, // nickname once logged in
  rooms: new Map(), // room name -> member count, the server's "rooms" list
  joined: new Map(), // room name -> Room
  current: null, // the Room on screen
  ready: false, // connected and logged in (and, after a reconnect, rooms joined again)
  outbox: [], // sends made while not ready: [() => void]
};

// reconnectionDelay is shorter than the default (1 s, up to 5 s) so a restarted server is
// found again quickly.
const socket = io({ reconnectionDelay: 500, reconnectionDelayMax: 3000 });

// A closed tab leaves its rooms at once; a dropped connection would keep the user "away"
// for as long as the server keeps the socket for recovery. A page put in the back/forward
// cache (persisted) reconnects when it is shown again.
addEventListener('pagehide', () => socket.disconnect());
addEventListener('pageshow', (e) => { if (e.persisted) socket.connect(); });

/* ---------------------------------------------------------------------------------- */
/* Connection status                                                                  */

let settleTimer = 0;

// state: connecting | connected | reconnecting | restoring | offline
function setStatus(s, text) {
  const banner = $('status');
  banner.dataset.state = s;
  $('status-text').textContent = text;
  $('status-retry').hidden = s !== 'offline';
  clearTimeout(settleTimer);
  banner.classList.remove('settled');
  if (s === 'connected') settleTimer = setTimeout(() => banner.classList.add('settled'), 2000);
}

socket.on('connect', async () => {
  if (socket.recovered || !state.me) {
    // Recovered: same socket id, rooms and nickname on the server, and the events missed
    // meanwhile have just been delivered. Nothing to redo.
    setReady(Boolean(state.me));
    setStatus('connected', socket.recovered ? 'Connected again' : 'Connected');
    return;
  }
  // A new session (the server restarted or forgot us): log in and join the rooms again.
  setStatus('restoring', 'Reconnected, restoring your rooms…');
  try {
    const res = await request('login', state.me);
    if (!res.ok) {
      logOut(`Could not log in again as ${state.me}: ${res.error}`);
      setStatus('connected', 'Connected');
      return;
    }
    setRooms(res.rooms);
    for (const room of [...state.joined.values()]) {
      const joined = await request('join', room.name);
      if (joined.ok) applyJoin(room, joined);
      else dropRoom(room, `Could not join #${room.name} again: ${joined.error}`);
    }
    setReady(true);
    setStatus('connected', 'Connected again');
  } catch (err) {
    // An ack timed out: the connection is going down again and "connect" will retry.
    setStatus('reconnecting', 'Reconnecting…');
  }
});

socket.on('disconnect', (reason) => {
  setReady(false);
  if (reason === 'io server disconnect') {
    setStatus('offline', 'Disconnected by the server');
  } else {
    setStatus('reconnecting', 'Connection lost, reconnecting…');
  }
});

// While the client keeps trying, "reconnect_attempt" tells; this is for when it gives up
// (a middleware refused the connection, for instance).
socket.on('connect_error', (err) => {
  if (!socket.active) setStatus('offline', `Cannot connect: ${err.message}`);
});

socket.io.on('reconnect_attempt', (n) => setStatus('reconnecting', `Reconnecting… (attempt ${n})`));

$('status-retry').addEventListener('click', () => {
  setStatus('connecting', 'Connecting…');
  socket.connect();
});

// emit with an ack, as a promise; rejects when the server does not answer in time.
function request(event, ...args) {
  return socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, ...args);
}

function setReady(ready) {
  state.ready = ready;
  if (ready) {
    const queued = state.outbox.splice(0);
    for (const send of queued) send();
  }
}

// Run send now when ready, else once the session is back.
function whenReady(send) {
  if (state.ready) send();
  else state.outbox.push(send);
}

/* ---------------------------------------------------------------------------------- */
/* Login                                                                              */

$('nickname').value = localStorage.getItem('nickname') ?? '';

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const nickname = $('nickname').value.trim();
  const error = checkName(nickname, 'Nickname');
  if (error) return showError('login-error', error);
  $('login-button').disabled = true;
  showError('login-error', '');
  try {
    const res = await request('login', nickname);
    if (!res.ok) return showError('login-error', capitalize(res.error));
    state.me = nickname;
    localStorage.setItem('nickname', nickname);
    $('me').textContent = nickname;
    $('me-avatar').replaceWith(avatar(nickname, 'me-avatar'));
    $('login').hidden = true;
    $('app').hidden = false;
    setRooms(res.rooms);
    setReady(true);
    await joinRoom('general');
  } catch {
    showError('login-error', 'The server did not answer; try again.');
  } finally {
    $('login-button').disabled = false;
  }
});

// Back to the login form, forgetting every room (the server no longer knows us).
function logOut(why) {
  for (const room of [...state.joined.values()]) dropRoom(room);
  state.me = null;
  state.outbox.length = 0;
  setReady(false);
  $('app').hidden = true;
  $('login').hidden = false;
  showError('login-error', why);
}

function checkName(name, what) {
  if (!name) return `${what} must not be empty.`;
  if ([...name].length > MAX_NAME) return `${what} must be at most ${MAX_NAME} characters.`;
  return '';
}

/* ---------------------------------------------------------------------------------- */
/* Rooms                                                                              */

class Room {
  constructor(name) {
    this.name = name;
    this.members = new Set();
    this.count = 0;
    this.ids = new Set(); // ids of messages and images shown
    this.pending = []; // own sends not yet seen back: {key, item}
    this.typing = new Map(); // nickname -> expiry timer
    this.unread = 0;
    this.log = el('ol', { className: 'log' });
    this.log.dataset.room = name;
    this.log.dataset.testid = 'log';
    this.log.hidden = true;
    $('messages').append(this.log);
  }
}

socket.on('rooms', (list) => setRooms(list));

function setRooms(list) {
  state.rooms = new Map(list.map((r) => [r.name, r.count]));
  for (const room of state.joined.values()) {
    if (state.rooms.has(room.name)) room.count = state.rooms.get(room.name);
  }
  renderRooms();
  renderHeader();
}

function renderRooms() {
  const names = [...state.rooms.keys()];
  for (const name of state.joined.keys()) if (!state.rooms.has(name)) names.push(name);
  const items = names.map((name) => {
    const room = state.joined.get(name);
    const button = el('button', { type: 'button', className: 'room' },
      el('span', { className: 'room-name', textContent: name }),
      el('span', { className: 'unread', textContent: room?.unread ? String(room.unread) : '' }),
      el('span', { className: 'count', textContent: String(state.rooms.get(name) ?? room?.count ?? 0) }));
    button.dataset.room = name;
    button.dataset.testid = 'room';
    button.querySelector('.count').dataset.testid = 'room-count';
    button.title = room ? `#${name}` : `Join #${name}`;
    if (room) button.classList.add('joined');
    if (state.current?.name === name) button.setAttribute('aria-current', 'true');
    button.addEventListener('click', () => joinRoom(name));
    return el('li', {}, button);
  });
  $('rooms').replaceChildren(...items);
}

$('new-room-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $('new-room').value.trim();
  const error = checkName(name, 'Room name');
  if (error) return showError('room-error', error);
  $('new-room').value = '';
  joinRoom(name);
});

// Show the room, joining it first when needed.
async function joinRoom(name) {
  showError('room-error', '');
  closeDrawer();
  const known = state.joined.get(name);
  if (known) return showRoom(known);
  let res;
  try {
    res = await request('join', name);
  } catch {
    return showError('room-error', `Could not join #${name}: no answer from the server.`);
  }
  if (!res.ok) return showError('room-error', `Could not join #${name}: ${res.error}.`);
  const room = state.joined.get(res.room) ?? new Room(res.room);
  state.joined.set(room.name, room);
  applyJoin(room, res);
  notice(room, `You joined #${room.name}`);
  showRoom(room);
}

// A join's ack: the members, and the room's latest messages (those not shown yet).
function applyJoin(room, res) {
  room.members = new Set(res.members);
  room.count = room.members.size;
  for (const msg of res.history ?? []) addMessage(msg);
  renderRooms();
  renderHeader();
}

$('leave').addEventListener('click', async () => {
  const room = state.current;
  if (!room) return;
  try {
    const res = await request('leave', room.name);
    if (!res.ok && res.error !== 'not in that room') {
      return showError('room-error', `Could not leave #${room.name}: ${res.error}.`);
    }
  } catch {
    return showError('room-error', `Could not leave #${room.name}: no answer from the server.`);
  }
  dropRoom(room);
});

// Forget a joined room and show another one.
function dropRoom(room, why = '') {
  for (const timer of room.typing.values()) clearTimeout(timer);
  room.log.remove();
  state.joined.delete(room.name);
  if (state.current === room) {
    state.current = null;
    const next = state.joined.values().next().value;
    if (next) showRoom(next);
    else showRoom(null);
  }
  renderRooms();
  if (why) showError('room-error', why);
}

function showRoom(room) {
  if (state.current && state.current !== room) stopTyping();
  for (const r of state.joined.values()) r.log.hidden = r !== room;
  state.current = room;
  $('no-room').hidden = Boolean(room);
  $('message-input').disabled = !room;
  $('send').disabled = !room;
  $('message-input').placeholder = room ? `Message #${room.name}` : 'Message';
  if (room) {
    room.unread = 0;
    scrollToEnd(true);
    if (matchMedia('(min-width: 721px)').matches) $('message-input').focus();
  }
  renderRooms();
  renderHeader();
  renderTyping();
}

function renderHeader() {
  const room = state.current;
  $('room-title').textContent = room ? `#${room.name}` : 'No room';
  $('member-count').hidden = !room;
  $('leave').hidden = !room;
  if (!room) {
    $('members').textContent = '';
    return;
  }
  const count = room.count;
  $('member-count').textContent = `${count} ${count === 1 ? 'member' : 'members'}`;
  $('member-count').dataset.count = String(count);
  const names = [...room.members].sort((a, b) => (a === state.me ? -1 : b === state.me ? 1 : a.localeCompare(b)));
  $('members').textContent = names.map((n) => (n === state.me ? `${n} (you)` : n)).join(', ');
}

socket.on('user joined', ({ room: name, nickname, count }) => {
  const room = state.joined.get(name);
  if (!room) return;
  room.members.add(nickname);
  room.count = count;
  notice(room, `${nickname} joined`);
  renderHeader();
});

socket.on('user left', ({ room: name, nickname, count }) => {
  const room = state.joined.get(name);
  if (!room) return;
  room.members.delete(nickname);
  room.count = count;
  setTyping(room, nickname, false);
  notice(room, `${nickname} left`);
  renderHeader();
});

/* ---------------------------------------------------------------------------------- */
/* Messages and images                                                                */

$('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  const room = state.current;
  const input = $('message-input');
  const text = input.value;
  if (!room || !text.trim()) return;
  input.value = '';
  stopTyping();
  showError('composer-error', '');
  const item = renderItem(room, { from: state.me, ts: Date.now(), text }, 'pending');
  sendMessage(room, text, item);
});

function sendMessage(room, text, item) {
  const entry = { key: `m:${text}`, item };
  room.pending.push(entry);
  whenReady(() => {
    socket.timeout(ACK_TIMEOUT_MS).emit('message', { room: room.name, text }, (err, res) => {
      settle(room, entry, err, res, () => sendMessage(room, text, item));
    });
  });
}

socket.on('message', (msg) => addMessage(msg));

// A message or an image from the server. Own sends are already on screen: they get their
// id and time instead of a second copy.
function addMessage(msg) {
  const room = state.joined.get(msg.room);
  if (!room || room.ids.has(msg.id)) return;
  if (msg.from === state.me) {
    const key = msg.data ? `i:${msg.name}:${msg.data.byteLength}` : `m:${msg.text}`;
    const entry = room.pending.find((p) => p.key === key && !p.item.dataset.id);
    if (entry) {
      setItemId(room, entry.item, msg.id, msg.ts);
      // Its ack was lost with a connection, but here it is: the server took it.
      if (entry.item.dataset.state === 'failed') delivered(room, entry);
      return;
    }
  }
  renderItem(room, msg, msg.from === state.me ? 'delivered' : '');
  setTyping(room, msg.from, false);
  if (room !== state.current) {
    room.unread++;
    renderRooms();
  }
}

// The ack of an own message or image: a delivery tick, or an error with a retry button.
function settle(room, entry, err, res, retry) {
  const item = entry.item;
  if (!err && res?.ok) {
    setItemId(room, item, res.id, res.ts);
    delivered(room, entry);
    return;
  }
  if (err && item.dataset.id) {
    // The room got it (it came back with an id); only the ack was lost.
    delivered(room, entry);
    return;
  }
  // Without an answer, the entry stays pending: the message may still come back.
  if (!err) room.pending.splice(room.pending.indexOf(entry), 1);
  item.dataset.state = 'failed';
  item.querySelector('.tick').setAttribute('aria-label', 'not delivered');
  const why = err ? 'no answer from the server' : res?.error ?? 'refused';
  const button = el('button', { type: 'button', className: 'retry', textContent: `Not sent (${why}). Retry` });
  button.dataset.testid = 'retry';
  button.addEventListener('click', () => {
    button.remove();
    const i = room.pending.indexOf(entry);
    if (i >= 0) room.pending.splice(i, 1);
    item.dataset.state = 'pending';
    retry();
  });
  item.append(button);
}

function delivered(room, entry) {
  const i = room.pending.indexOf(entry);
  if (i >= 0) room.pending.splice(i, 1);
  entry.item.dataset.state = 'delivered';
  entry.item.querySelector('.tick').setAttribute('aria-label', 'delivered');
  entry.item.querySelector('.retry')?.remove();
}

function setItemId(room, item, id, ts) {
  item.dataset.id = id;
  room.ids.add(id);
  const time = item.querySelector('time');
  time.dateTime = new Date(ts).toISOString();
  time.textContent = formatTime(ts);
}

socket.on('image', (img) => addMessage(img));

$('image-input').addEventListener('change', (e) => {
  const file = e.target.files[0];
  e.target.value = '';
  if (file) sendImage(file);
});

// Paste or drop an image into the chat to share it too.
document.addEventListener('paste', (e) => {
  const file = [...(e.clipboardData?.files ?? [])].find((f) => f.type.startsWith('image/'));
  if (file && state.current) {
    e.preventDefault();
    sendImage(file);
  }
});
$('messages').addEventListener('dragover', (e) => {
  if (!state.current) return;
  e.preventDefault();
  $('messages').classList.add('dragging');
});
$('messages').addEventListener('dragleave', () => $('messages').classList.remove('dragging'));
$('messages').addEventListener('drop', (e) => {
  $('messages').classList.remove('dragging');
  const file = [...(e.dataTransfer?.files ?? [])].find((f) => f.type.startsWith('image/'));
  if (!file || !state.current) return;
  e.preventDefault();
  sendImage(file);
});

async function sendImage(file) {
  const room = state.current;
  if (!room) return;
  if (!file.type.startsWith('image/')) {
    return showError('composer-error', `${file.name} is not an image.`);
  }
  if (file.size > MAX_IMAGE) {
    return showError('composer-error',
      `${file.name} is too large (${formatSize(file.size)}): images can be at most ${formatSize(MAX_IMAGE)}.`);
  }
  if (file.size === 0) return showError('composer-error', `${file.name} is empty.`);
  showError('composer-error', '');
  // The bytes travel as a binary attachment, not as base64 inside JSON.
  const data = await file.arrayBuffer();
  const image = { name: file.name, type: file.type, data };
  const item = renderItem(room, { from: state.me, ts: Date.now(), ...image }, 'pending');
  const send = () => {
    const entry = { key: `i:${file.name}:${data.byteLength}`, item };
    room.pending.push(entry);
    whenReady(() => {
      socket.timeout(ACK_TIMEOUT_MS).emit('image', { room: room.name, ...image }, (err, res) => {
        settle(room, entry, err, res, send);
      });
    });
  };
  send();
}

/* ---------------------------------------------------------------------------------- */
/* Rendering                                                                          */

// A message ({text}) or an image ({name, type, data}) as a list item. state: '' for
// someone else's, else 'pending' | 'delivered' | 'failed'.
function renderItem(room, msg, sendState) {
  const mine = msg.from === state.me;
  const item = el('li', { className: `msg${mine ? ' mine' : ''}` });
  item.dataset.testid = msg.data ? 'image' : 'message';
  item.dataset.from = msg.from;
  if (msg.id) {
    item.dataset.id = msg.id;
    room.ids.add(msg.id);
  }
  if (mine) item.dataset.state = sendState || 'delivered';

  const time = el('time', { dateTime: new Date(msg.ts).toISOString(), textContent: formatTime(msg.ts) });
  time.title = new Date(msg.ts).toLocaleString();
  item.append(el('div', { className: 'meta' },
    el('span', { className: 'author', textContent: msg.from }), time));

  const foot = el('span', { className: 'foot' });
  if (mine) {
    const tick = el('span', { className: 'tick' });
    tick.dataset.testid = 'tick';
    tick.setAttribute('aria-label', sendState === 'pending' ? 'sending' : 'delivered');
    foot.append(tick);
  }
  let bubble;
  if (msg.data) {
    const url = URL.createObjectURL(new Blob([msg.data], { type: msg.type }));
    const img = el('img', { src: url, alt: msg.name, loading: 'lazy' });
    img.dataset.testid = 'image-preview';
    img.addEventListener('load', () => scrollToEnd(false), { once: true });
    const caption = el('span', { className: 'caption' },
      el('span', { textContent: `${msg.name} · ${formatSize(msg.data.byteLength)}` }), foot);
    bubble = el('div', { className: 'bubble image' },
      el('a', { href: url, target: '_blank', rel: 'noopener' }, img), caption);
  } else {
    bubble = el('div', { className: 'bubble' }, el('span', { className: 'text', textContent: msg.text }), foot);
  }
  item.append(bubble);

  const prev = room.log.lastElementChild;
  if (prev?.dataset.from === msg.from && msg.ts - Number(prev.dataset.ts) < GROUP_MS) {
    item.classList.add('cont');
  }
  item.dataset.ts = String(msg.ts);
  appendToLog(room, item);
  return item;
}

function notice(room, text) {
  const item = el('li', { className: 'notice', textContent: text });
  item.dataset.testid = 'notice';
  appendToLog(room, item);
}

function appendToLog(room, item) {
  const box = $('messages');
  const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  room.log.append(item);
  if (room === state.current && (atEnd || item.classList.contains('mine'))) scrollToEnd(false);
}

function scrollToEnd(instant) {
  const box = $('messages');
  if (instant) box.style.scrollBehavior = 'auto';
  box.scrollTop = box.scrollHeight;
  if (instant) box.style.scrollBehavior = '';
}

function avatar(name, id) {
  const hue = [...name].reduce((h, c) => (h * 31 + c.codePointAt(0)) % 360, 7);
  const node = el('span', { className: 'avatar', id, textContent: [...name][0]?.toUpperCase() ?? '?' });
  node.setAttribute('aria-hidden', 'true');
  node.style.background = `hsl(${hue} 55% 50%)`;
  return node;
}

const timeFormat = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit' });
function formatTime(ts) {
  return timeFormat.format(new Date(ts));
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(2).replace(/\.?0+$/, '')} MB`;
}

function showError(id, text) {
  $(id).textContent = text;
}

function capitalize(s) {
  return s ? s[0].toUpperCase() + s.slice(1) + (/[.!?]$/.test(s) ? '' : '.') : s;
}

/* ---------------------------------------------------------------------------------- */
/* Typing                                                                             */

let typingRoom = null; // the room we told we are typing in
let typingSentAt = 0;
let typingIdle = 0;

$('message-input').addEventListener('input', () => {
  const room = state.current;
  if (!room || !state.ready) return;
  if (!$('message-input').value) return stopTyping();
  const now = Date.now();
  if (typingRoom !== room || now - typingSentAt > TYPING_REPEAT_MS) {
    // volatile: a late "typing" is worth nothing, so it is dropped while disconnected.
    socket.volatile.emit('typing', { room: room.name, typing: true });
    typingRoom = room;
    typingSentAt = now;
  }
  clearTimeout(typingIdle);
  typingIdle = setTimeout(stopTyping, TYPING_IDLE_MS);
});

function stopTyping() {
  clearTimeout(typingIdle);
  if (!typingRoom) return;
  if (state.joined.has(typingRoom.name)) {
    socket.volatile.emit('typing', { room: typingRoom.name, typing: false });
  }
  typingRoom = null;
  typingSentAt = 0;
}

socket.on('typing', ({ room: name, nickname, typing }) => {
  const room = state.joined.get(name);
  if (room && nickname !== state.me) setTyping(room, nickname, typing);
});

function setTyping(room, nickname, typing) {
  clearTimeout(room.typing.get(nickname));
  room.typing.delete(nickname);
  if (typing) {
    room.typing.set(nickname, setTimeout(() => setTyping(room, nickname, false), TYPING_EXPIRE_MS));
  }
  if (room === state.current) renderTyping();
}

function renderTyping() {
  const names = state.current ? [...state.current.typing.keys()] : [];
  let text = '';
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = 'Several people are typing…';
  $('typing').textContent = text;
}

/* ---------------------------------------------------------------------------------- */
/* Phone layout: the room list is a drawer                                            */

function closeDrawer() {
  $('app').classList.remove('drawer-open');
}
$('rooms-toggle').addEventListener('click', () => $('app').classList.toggle('drawer-open'));
$('scrim').addEventListener('click', closeDrawer);
