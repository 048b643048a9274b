"""A small RTSP/1.0 server (RFC 2326) that loops H.264 video files as live cameras, for tests and benchmarks.

Run as a process (``python -m tests.support.rtsp_server --port P --stream CAM1=video.mp4 ...``); it binds
127.0.0.1 only. Each client gets the stream from the start of the file, paced in real time, looped with
timestamps that keep rising, as RTP over the RTSP TCP connection (interleaved, RFC 6184 H.264 payload:
single NAL units and FU-A fragments; SPS/PPS in the SDP and before every keyframe). Fault modes for tests:
``--garbage NAME`` answers the handshake then sends random bytes; ``--stall NAME=SECONDS`` stops sending
(keeping the connection open) after that long on every connection. UDP transport is refused (461).
"""

from __future__ import annotations

import argparse
import base64
import os
import socketserver
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import av

MAX_PAYLOAD = 1400
CLOCK = 90_000


@dataclass(frozen=True)
class AccessUnit:
    at: float  # seconds from the start of the file
    nals: tuple[bytes, ...]
    keyframe: bool


@dataclass(frozen=True)
class Clip:
    units: tuple[AccessUnit, ...]
    length: float  # seconds one pass of the loop lasts
    sps: bytes
    pps: bytes


def _annexb_nals(data: bytes) -> list[bytes]:
    nals, i, n = [], 0, len(data)
    starts = []
    while i < n - 3:
        if data[i] == 0 and data[i + 1] == 0 and (data[i + 2] == 1 or (data[i + 2] == 0 and data[i + 3] == 1)):
            size = 3 if data[i + 2] == 1 else 4
            starts.append((i, i + size))
            i += size
        else:
            i += 1
    for k, (_, begin) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else n
        nal = data[begin:end].rstrip(b"\x00")
        if nal:
            nals.append(nal)
    return nals


def _length_prefixed_nals(data: bytes, size: int) -> list[bytes]:
    nals, i = [], 0
    while i + size <= len(data):
        length = int.from_bytes(data[i : i + size], "big")
        nals.append(data[i + size : i + size + length])
        i += size + length
    return nals


def _avcc_parameter_sets(extradata: bytes) -> tuple[int, list[bytes]]:
    """The NAL length size and the SPS and PPS of an ISO/IEC 14496-15 ``avcC`` record."""
    length_size, sets, i = (extradata[4] & 3) + 1, [], 5
    for mask in (0x1F, 0xFF):  # the SPS count shares its byte with reserved bits; the PPS count does not
        count = extradata[i] & mask
        i += 1
        for _ in range(count):
            length = int.from_bytes(extradata[i : i + 2], "big")
            sets.append(extradata[i + 2 : i + 2 + length])
            i += 2 + length
    return length_size, sets


def load_clip(path: Path) -> Clip:
    """Demux an H.264 file (Annex B or avcC) into access units in memory."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.codec_context.name != "h264":
            raise SystemExit(f"{path}: only H.264 video can be served, not {stream.codec_context.name}")
        extradata = bytes(stream.codec_context.extradata or b"")
        avcc = extradata[:1] == b"\x01"
        length_size, sets = _avcc_parameter_sets(extradata) if avcc else (0, _annexb_nals(extradata))
        tb = float(stream.time_base or 0)
        units: list[AccessUnit] = []
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue
            data = bytes(packet)
            nals = _length_prefixed_nals(data, length_size) if avcc else _annexb_nals(data)
            if not sets:
                sets = [nal for nal in nals if nal[0] & 0x1F in (7, 8)]
            units.append(AccessUnit(packet.pts * tb, tuple(nals), bool(packet.is_keyframe)))
    units.sort(key=lambda unit: unit.at)
    first = units[0].at
    units = [AccessUnit(u.at - first, u.nals, u.keyframe) for u in units]
    step = units[-1].at / max(len(units) - 1, 1)
    sps = next(nal for nal in sets if nal[0] & 0x1F == 7)
    pps = next(nal for nal in sets if nal[0] & 0x1F == 8)
    return Clip(tuple(units), units[-1].at + step, sps, pps)


class Stream:
    """One client's RTP stream: packetises the clip's access units and paces them in real time."""

    def __init__(
        self, client: RtspClient, clip: Clip, *, stall_after: float | None, garbage: bool, then: Clip | None = None
    ) -> None:
        self.client, self.clip, self.stall_after, self.garbage = client, clip, stall_after, garbage
        self.then = then  # played (looped) after the first pass of ``clip``: e.g. a camera changing resolution
        self.seq, self.ssrc = 0, int.from_bytes(os.urandom(4), "big")
        self.stopped = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        if self.garbage:
            while not self.stopped.wait(0.05):
                self.client.send(os.urandom(1500))
            return
        loop, offset = 0, 0.0
        while not self.stopped.is_set():
            clip = self.then if self.then is not None and loop > 0 else self.clip
            for unit in clip.units:
                at = offset + unit.at
                if self.stall_after is not None and at >= self.stall_after:
                    self.stopped.wait()
                    return
                delay = start + at - time.monotonic()
                if delay > 0 and self.stopped.wait(delay):
                    return
                self._send_unit(clip, unit, round(at * CLOCK) & 0xFFFFFFFF)
            loop, offset = loop + 1, offset + clip.length

    def _send_unit(self, clip: Clip, unit: AccessUnit, timestamp: int) -> None:
        nals = [n for n in unit.nals if n[0] & 0x1F not in (7, 8, 9)]
        if unit.keyframe:
            nals = [clip.sps, clip.pps, *nals]
        for index, nal in enumerate(nals):
            last = index == len(nals) - 1
            if len(nal) <= MAX_PAYLOAD:
                self._send_rtp(nal, timestamp, marker=last)
                continue
            indicator, kind, body = (nal[0] & 0xE0) | 28, nal[0] & 0x1F, nal[1:]
            for offset in range(0, len(body), MAX_PAYLOAD):
                chunk = body[offset : offset + MAX_PAYLOAD]
                first, end = offset == 0, offset + MAX_PAYLOAD >= len(body)
                header = kind | (0x80 if first else 0) | (0x40 if end else 0)
                self._send_rtp(bytes([indicator, header]) + chunk, timestamp, marker=last and end)

    def _send_rtp(self, payload: bytes, timestamp: int, *, marker: bool) -> None:
        header = struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | 96, self.seq, timestamp, self.ssrc)
        self.seq = (self.seq + 1) & 0xFFFF
        packet = header + payload
        self.client.send(b"$\x00" + struct.pack("!H", len(packet)) + packet)


class RtspClient(socketserver.StreamRequestHandler):
    server: RtspServer

    def setup(self) -> None:
        super().setup()
        self.lock = threading.Lock()
        self.stream: Stream | None = None
        self.session = base64.b16encode(os.urandom(6)).decode()

    def send(self, data: bytes) -> None:
        with self.lock:
            try:
                self.wfile.write(data)
                self.wfile.flush()
            except OSError:
                if self.stream is not None:
                    self.stream.stopped.set()

    def handle(self) -> None:
        try:
            while True:
                first = self.rfile.read(1)
                if not first:
                    return
                if first == b"$":  # the client's RTCP receiver reports: read and ignore
                    header = self.rfile.read(3)
                    self.rfile.read(struct.unpack("!H", header[1:3])[0])
                    continue
                lines = [first + self.rfile.readline()]
                while lines[-1].strip():
                    lines.append(self.rfile.readline())
                self._answer([line.decode("latin-1").rstrip("\r\n") for line in lines if line.strip()])
        except (OSError, ValueError):
            return
        finally:
            if self.stream is not None:
                self.stream.stopped.set()

    def _answer(self, lines: list[str]) -> None:
        method, url, _ = [*lines[0].split(" "), "", ""][:3]
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        if int(headers.get("content-length", "0") or 0):
            self.rfile.read(int(headers["content-length"]))
        cseq = headers.get("cseq", "0")
        name = url.split("://", 1)[-1].partition("/")[2].split("/")[0]
        clip = self.server.clips.get(name)
        if method in ("OPTIONS", "GET_PARAMETER", "SET_PARAMETER"):
            self._reply(cseq, extra={"Public": "OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"})
        elif clip is None:
            self._reply(cseq, status="404 Not Found")
        elif method == "DESCRIBE":
            self._reply(cseq, body=self._sdp(clip), extra={"Content-Base": url.rstrip("/") + "/"})
        elif method == "SETUP":
            transport = headers.get("transport", "")
            if "TCP" not in transport:
                self._reply(cseq, status="461 Unsupported Transport")
                return
            self._reply(cseq, extra={"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
        elif method == "PLAY":
            self._reply(cseq, extra={"Range": "npt=0.000-"})
            if self.stream is None:
                self.stream = Stream(
                    self,
                    clip,
                    stall_after=self.server.stalls.get(name),
                    garbage=name in self.server.garbage,
                    then=self.server.switches.get(name),
                )
                threading.Thread(target=self.stream.run, daemon=True).start()
        elif method == "TEARDOWN":
            self._reply(cseq)
            if self.stream is not None:
                self.stream.stopped.set()
        else:
            self._reply(cseq, status="405 Method Not Allowed")

    def _sdp(self, clip: Clip) -> str:
        sprop = ",".join(base64.b64encode(nal).decode() for nal in (clip.sps, clip.pps))
        profile = clip.sps[1:4].hex()
        return (
            "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=vigil test camera\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n"
            "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
            f"a=fmtp:96 packetization-mode=1;profile-level-id={profile};sprop-parameter-sets={sprop}\r\n"
            "a=control:track1\r\n"
        )

    def _reply(self, cseq: str, *, status: str = "200 OK", body: str = "", extra: dict[str, str] | None = None) -> None:
        head = [f"RTSP/1.0 {status}", f"CSeq: {cseq}", f"Session: {self.session};timeout=60"]
        head += [f"{k}: {v}" for k, v in (extra or {}).items()]
        if body:
            head += ["Content-Type: application/sdp", f"Content-Length: {len(body.encode())}"]
        self.send(("\r\n".join(head) + "\r\n\r\n" + body).encode())


class RtspServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        port: int,
        clips: dict[str, Clip],
        stalls: dict[str, float],
        garbage: set[str],
        switches: dict[str, Clip] | None = None,
    ) -> None:
        self.clips, self.stalls, self.garbage, self.switches = clips, stalls, garbage, switches or {}
        super().__init__(("127.0.0.1", port), RtspClient)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--stream", action="append", default=[], help="NAME=PATH of an H.264 video")
    parser.add_argument("--stall", action="append", default=[], help="NAME=SECONDS: stop sending after that")
    parser.add_argument("--garbage", action="append", default=[], help="NAME: send random bytes after PLAY")
    parser.add_argument("--switch", action="append", default=[], help="NAME=PATH: after one pass, play PATH (looped)")
    args = parser.parse_args()
    loaded: dict[Path, Clip] = {}
    clips = {}
    for item in args.stream:
        name, _, path = item.partition("=")
        if Path(path) not in loaded:
            loaded[Path(path)] = load_clip(Path(path))
        clips[name] = loaded[Path(path)]
    stalls = {name: float(s) for name, _, s in (item.partition("=") for item in args.stall)}
    switches = {name: load_clip(Path(path)) for name, _, path in (item.partition("=") for item in args.switch)}
    with RtspServer(args.port, clips, stalls, set(args.garbage), switches) as server:
        print("ready", flush=True)
        server.serve_forever(poll_interval=0.2)


if __name__ == "__main__":
    main()
