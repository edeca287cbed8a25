"""A small RFB (RFC 6143) client for tests and benchmarks: protocol 3.8,
security type None, raw encoding (plus DesktopSize), 32-bit true colour;
ZRLE rectangles are skipped undecoded (for byte counts).
Keeps a local copy of the framebuffer and counts the bytes it received."""
import socket
import struct
import time

RAW, ZRLE, DESKTOP_SIZE, LED_STATE = 0, 16, -223, -131072  # 0xfffe0000


class RfbError(Exception):
    pass


def vnc_auth_response(password, challenge):
    """VNC authentication (RFC 6143 s7.2.2): DES-encrypt the 16-byte challenge
    with the password (8 bytes, zero padded) as key, each key byte's bits
    mirrored (the historical VNC convention)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    key = bytes(int(f"{b:08b}"[::-1], 2) for b in password.encode()[:8].ljust(8, b"\0"))
    # an 8-byte TripleDES key is K1 = K2 = K3: plain DES
    enc = Cipher(algorithms.TripleDES(key), modes.ECB()).encryptor()
    return enc.update(challenge) + enc.finalize()


class Rfb:
    def __init__(self, addr, timeout=20, encodings=(RAW, DESKTOP_SIZE), password=None):
        deadline = time.monotonic() + timeout
        while True:  # the server may still be starting
            self.sock = socket.socket(socket.AF_UNIX if isinstance(addr, str) else socket.AF_INET,
                                      socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            try:
                self.sock.connect(addr)
                break
            except (ConnectionRefusedError, ConnectionAbortedError, FileNotFoundError):
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        self.received = 0
        version = self.recv(12)
        if not version.startswith(b"RFB "):
            raise RfbError(f"not an RFB server: {version!r}")
        self.sock.sendall(b"RFB 003.008\n")
        n = self.recv(1)[0]
        if n == 0:
            raise RfbError("server refused: " + self.recv(struct.unpack(">I", self.recv(4))[0]).decode())
        self.security_types = list(self.recv(n))
        if password is not None and 2 in self.security_types:
            self.sock.sendall(b"\x02")
            self.sock.sendall(vnc_auth_response(password, self.recv(16)))
        elif 1 in self.security_types:
            self.sock.sendall(b"\x01")
        else:
            raise RfbError(f"no 'None' security type offered: {self.security_types}")
        if struct.unpack(">I", self.recv(4))[0] != 0:
            raise RfbError("security handshake failed")
        self.sock.sendall(b"\x01")  # ClientInit: shared
        self.width, self.height = struct.unpack(">HH", self.recv(4))
        self.recv(16)  # server pixel format
        self.name = self.recv(struct.unpack(">I", self.recv(4))[0])
        # SetPixelFormat: 32 bpp, depth 24, little endian, true colour, 0x00RRGGBB
        self.sock.sendall(struct.pack(">B3xBBBBHHHBBB3x", 0, 32, 24, 0, 1, 255, 255, 255, 16, 8, 0))
        self.sock.sendall(struct.pack(">BxH", 2, len(encodings)) + b"".join(struct.pack(">i", e) for e in encodings))
        self.fb = bytearray(self.width * self.height * 4)
        self.resizes = 0
        self.leds = None

    def recv(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise RfbError("connection closed")
            buf += chunk
        self.received += n
        return bytes(buf)

    def request(self, incremental=False):
        self.sock.sendall(struct.pack(">BBHHHH", 3, 1 if incremental else 0, 0, 0, self.width, self.height))

    def read_update(self):
        """Read server messages until one framebuffer update; returns its rectangles."""
        while True:
            t = self.recv(1)[0]
            if t == 0:
                break
            if t == 1:  # SetColourMapEntries
                _, _, n = struct.unpack(">BHH", self.recv(5))
                self.recv(6 * n)
            elif t == 2:  # Bell
                pass
            elif t == 3:  # ServerCutText
                self.recv(3)
                self.recv(struct.unpack(">I", self.recv(4))[0])
            else:
                raise RfbError(f"unexpected server message {t}")
        self.recv(1)
        rects = []
        for _ in range(struct.unpack(">H", self.recv(2))[0]):
            x, y, w, h, enc = struct.unpack(">HHHHi", self.recv(12))
            if enc == RAW:
                data = self.recv(w * h * 4)
                for row in range(h):
                    o = ((y + row) * self.width + x) * 4
                    self.fb[o:o + w * 4] = data[row * w * 4:(row + 1) * w * 4]
            elif enc == ZRLE:  # counted, not decoded (benchmarks)
                self.recv(struct.unpack(">I", self.recv(4))[0])
            elif enc == LED_STATE:  # libvncserver: x carries the lock state (CapsLock 2, NumLock 128)
                self.leds = x
            elif enc == DESKTOP_SIZE:
                self.width, self.height = w, h
                self.fb = bytearray(w * h * 4)
                self.resizes += 1
            else:
                raise RfbError(f"unexpected encoding {enc}")
            rects.append((x, y, w, h, enc))
        return rects

    def frame(self):
        """A complete, current frame (non-incremental request)."""
        self.request(False)
        return self.read_update()

    def wait_for(self, pred, timeout=30):
        """Request updates until pred(self) holds; returns True, or False on timeout."""
        deadline = time.monotonic() + timeout
        self.frame()
        while not pred(self):
            if time.monotonic() > deadline:
                return False
            self.request(True)
            try:
                self.read_update()
            except socket.timeout:
                pass
        return True

    def pixel(self, x, y):
        o = (y * self.width + x) * 4
        b, g, r = self.fb[o], self.fb[o + 1], self.fb[o + 2]
        return (r, g, b)

    def key(self, keysym, down):
        self.sock.sendall(struct.pack(">BBxxI", 4, 1 if down else 0, keysym))

    def tap(self, keysym):
        self.key(keysym, True)
        self.key(keysym, False)

    def pointer(self, x, y, buttons=0):
        self.sock.sendall(struct.pack(">BBHH", 5, buttons, x, y))

    def close(self):
        self.sock.close()
