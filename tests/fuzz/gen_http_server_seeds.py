#!/usr/bin/env python3
"""Writes the hand-made seeds of fuzz_http_server (tests/fuzz/corpus/http_server): option
byte, two split points, then the bytes a client sends; see tests/fuzz/fuzz_http_server.c."""
import os, struct
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'http_server')
def frame(op, payload, fin=True, mask=b'\x01\x02\x03\x04', rsv1=False):
    if isinstance(payload, str): payload = payload.encode()
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | op
    n = len(payload)
    if n < 126: hdr = bytes([b0, 0x80 | n])
    elif n < 65536: hdr = bytes([b0, 0xfe]) + struct.pack('>H', n)
    else: hdr = bytes([b0, 0xff]) + struct.pack('>Q', n)
    return hdr + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
def seed(name, chunks, flags=0):
    chunks = [c.encode() if isinstance(c, str) else c for c in chunks]
    while len(chunks) < 3: chunks.append(b'')
    data = b''.join(chunks)
    c0 = len(chunks[0]); c1 = c0 + len(chunks[1])
    with open(os.path.join(out, name), 'wb') as f:
        f.write(bytes([flags]) + struct.pack('<HH', c0, c1) + data)
def post(path, body, headers=''):
    if isinstance(body, str): body = body.encode()
    return ('POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n' % (path, headers, len(body))).encode() + body
U = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'
seed('get_index', ['GET / HTTP/1.1\r\nHost: a\r\n\r\n'])
seed('range', ['GET /a.txt HTTP/1.1\r\nRange: bytes=2-5\r\n\r\nGET /big.bin HTTP/1.1\r\nRange: bytes=-10\r\n\r\n', 'GET /a.txt HTTP/1.1\r\nRange: bytes=0-1,4-\r\nIf-Range: "x"\r\n\r\n'])
seed('conditional', ['GET /sub/b.css HTTP/1.1\r\nIf-None-Match: "abc", *\r\n\r\nGET /a.txt HTTP/1.1\r\nIf-Modified-Since: Sun, 06 Nov 2094 08:49:37 GMT\r\n\r\n'])
seed('head_big', ['HEAD /big.bin HTTP/1.1\r\n\r\nGET /big.bin HTTP/1.0\r\n\r\n'], flags=1)
seed('pipelined_split', ['GET /a.txt HTTP/1.1\r\n\r\nHEAD /sub/b.css HT', 'TP/1.1\r\n\r\nGET /missing HTTP/1.1\r\n\r\nGET /sub/ HTTP/1.1\r\n', '\r\nDELETE / HTTP/1.1\r\nConnection: close\r\n\r\n'])
seed('post_echo', ['POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel', 'lo', 'PUT /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'])
seed('expect', ['POST /echo HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n', 'abc', 'POST /echo HTTP/1.1\r\nContent-Length: 99999\r\n\r\n'])
seed('traversal', ['GET /../etc/passwd HTTP/1.1\r\n\r\nGET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\n\r\nGET /sub/..%2f..%2fx HTTP/1.1\r\n\r\nGET /a.txt%00 HTTP/1.1\r\n\r\n'])
seed('ws_echo', ['GET /ws HTTP/1.1\r\nHost: a\r\n' + U + '\r\n', frame(1, 'hello') + frame(9, 'p') + frame(2, b'\x00\x01', fin=False) + frame(0, b'\x02'), frame(1, 'close') + frame(8, b'\x03\xe8')])
seed('ws_deflate', ['GET /ws HTTP/1.1\r\n' + U + 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n', frame(1, bytes.fromhex('f248cdc9c90700'), rsv1=True) + frame(1, 'x')], flags=2)
seed('ws_bad_handshake', ['GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 8\r\n\r\nGET /ws HTTP/1.1\r\n\r\n'])
seed('eio4_polling', ['GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n\r\n', 'POST /socket.io/?EIO=4&transport=polling&sid=$SID HTTP/1.1\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\n40', b'GET /socket.io/?EIO=4&transport=polling&sid=$SID HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n' + post('/socket.io/?EIO=4&transport=polling&sid=$SID', '42["message","hi"]\x1e421["message-with-ack",1]\x1e1')])
seed('eio3_polling', ['GET /socket.io/?EIO=3&transport=polling&b64=1 HTTP/1.1\r\n\r\n', post('/socket.io/?EIO=3&transport=polling&sid=$SID', '2:4018:42["message","hi"]6:b4AQID'), 'GET /socket.io/?EIO=3&transport=polling&sid=$SID HTTP/1.1\r\n\r\n'])
seed('eio3_jsonp', ['GET /socket.io/?EIO=3&transport=polling&j=0 HTTP/1.1\r\n\r\n', 'POST /socket.io/?EIO=3&transport=polling&sid=$SID&j=0 HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\nd=1%3A2%0A1'])
seed('eio3_binary_post', ['GET /socket.io/?EIO=3&transport=polling HTTP/1.1\r\n\r\n', b'POST /socket.io/?EIO=3&transport=polling&sid=$SID HTTP/1.1\r\nContent-Type: application/octet-stream\r\nContent-Length: 12\r\n\r\n\x00\x02\xff2p\x01\x04\xff\x04\x01\x02\x03'])
seed('sio_websocket', ['GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n' + U + '\r\n', frame(1, '40') + frame(1, '40/custom,{"token":1}') + frame(1, '42["message","hi",{"a":[1,2]}]'), frame(1, '421["message-with-ack","x"]') + frame(1, '42["join","r"]') + frame(1, '451-["message",{"_placeholder":true,"num":0}]') + frame(2, b'\x01\x02') + frame(1, '41') + frame(1, '1')])
seed('sio3_websocket', ['GET /socket.io/?EIO=3&transport=websocket HTTP/1.1\r\n' + U + '\r\n', frame(1, '2') + frame(1, '40/custom?x=1,') + frame(1, '42["message",1]') + frame(2, b'\x04\x01\x02')])
seed('eio_upgrade', ['GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n\r\n', 'GET /socket.io/?EIO=4&transport=websocket&sid=$SID HTTP/1.1\r\n' + U + '\r\n', frame(1, '2probe') + frame(1, '5') + frame(1, '40') + frame(1, '42["message","up"]')])
seed('eio_errors', ['GET /socket.io/?EIO=5&transport=polling HTTP/1.1\r\n\r\nGET /socket.io/?EIO=4&transport=carrier HTTP/1.1\r\n\r\nGET /socket.io/?EIO=4&transport=polling&sid=nope HTTP/1.1\r\n\r\nPUT /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nContent-Length: 0\r\n\r\n'])
seed('cors_preflight', ['OPTIONS /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nOrigin: http://x\r\nAccess-Control-Request-Method: POST\r\n\r\n'])
seed('serve_client', ['GET /socket.io/socket.io.min.js HTTP/1.1\r\nIf-None-Match: "x"\r\nAccept-Encoding: gzip, deflate\r\n\r\nHEAD /socket.io/socket.io.js.map HTTP/1.1\r\n\r\n'])
seed('bad_requests', ['GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\nGARBAGE\r\n\r\n'])
