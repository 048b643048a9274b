"""The sections of vigil's settings (``VIGIL_<SECTION>__<FIELD>``): one model per part of the system."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

LIVE_SCHEMES = ("rtsp", "rtsps", "http", "https")
SECRET_MASK = "********"  # noqa: S105 (the mask shown in place of secrets)


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebSettings(Section):
    host: str = Field("127.0.0.1", description="Address the web server binds to.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port of the web server.")
    session_hours: float = Field(8.0, gt=0, le=24, description="A login session ends after this many hours.")
    secure_cookies: bool = Field(False, description="Mark cookies Secure (turn on when vigil is served over HTTPS).")
    login_max_failures: int = Field(5, ge=1, description="Failed logins in a row that lock an account.")
    lockout_minutes: float = Field(15.0, gt=0, description="How long a locked account stays locked.")
    login_rate_per_minute: int = Field(20, ge=1, description="Login attempts allowed per client address per minute.")
    max_upload_mb: int = Field(4096, ge=1, description="Largest video file accepted by an upload, in MiB.")
    trusted_proxies: tuple[str, ...] = Field(
        (),
        description="Reverse proxies (IP addresses or CIDR networks) whose X-Forwarded-For header is believed; "
        "from any other peer the header is ignored (the login rate limit and the audit log use the peer address). "
        'As an environment variable: a JSON list, e.g. VIGIL_WEB__TRUSTED_PROXIES=\'["10.0.0.5", "10.1.0.0/16"]\'.',
    )

    threads: int = Field(
        48, ge=2, le=512, description="Worker threads serving requests (page rendering, database work, files)."
    )
    db_slots: int = Field(
        24,
        ge=1,
        le=256,
        description="Requests using the database at once; more wait their turn (the connection pool holds as many).",
    )
    pool_timeout_s: float = Field(
        30.0, gt=0, le=600, description="Longest wait for a database connection before a request fails."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
        return tuple(item.strip() for item in value)

    @model_validator(mode="after")
    def _threads_outnumber_slots(self) -> WebSettings:
        if self.threads <= self.db_slots:
            raise ValueError(
                f"web.threads ({self.threads}) must be larger than web.db_slots ({self.db_slots}): a request "
                "holding the database must always find a thread to finish on"
            )
        return self


class AuditSettings(Section):
    signing_key_file: Path | None = Field(
        None,
        description="Ed25519 private key that signs the audit checkpoints (kept outside the database); "
        "empty: <data_dir>/audit-signing.key, created with mode 0600 on first start.",
    )
    checkpoint_file: Path | None = Field(
        None,
        description="Append-only file the signed audit checkpoints are written to; "
        "empty: <data_dir>/audit-checkpoints.jsonl. Keep a copy where database administrators cannot write.",
    )
    checkpoint_every_minutes: float = Field(
        15, ge=0, description="How often the web server writes an audit checkpoint (0: only at shutdown and by CLI)."
    )
    syslog: bool = Field(False, description="Also send every audit checkpoint to the local syslog (facility AUTH).")


class RetentionSettings(Section):
    footage_days: float = Field(31, gt=0, description="Footage not held for a case is deleted after this.")
    live_fr_alert_hours: float = Field(
        24,
        gt=0,
        description="Live facial-recognition alerts are deleted this long after the deployment ends.",
    )
    live_rule_alert_days: float = Field(
        31, gt=0, description="Alerts of live rules are deleted after this, unless escalated and kept for a case."
    )
    api_token_days_after_expiry: float = Field(
        30, gt=0, description="Expired or revoked API tokens are purged this long after they stop working."
    )
    login_session_days: float = Field(
        30, gt=0, description="Records of ended or expired web login sessions are purged after this."
    )
    run_every_minutes: float = Field(60, gt=0, description="How often the retention scheduler runs.")


class AnalysisSettings(Section):
    checkpoint_seconds: float = Field(
        10.0, gt=0, le=3600, description="A running analysis commits its tracks and state this often (resume point)."
    )
    nice: int = Field(10, ge=0, le=19, description="CPU priority the analysis workers give way by (Unix nice).")


class RaySettings(Section):
    address: str = Field(
        "auto",
        description="Address of the Ray cluster to join (host:port of its head node); 'auto' finds the one started "
        "on this machine with `ray start`.",
    )
    namespace: str = Field("vigil", min_length=1, description="Ray namespace of vigil's tasks and actors.")
    node_ip_address: str | None = Field(
        None, description="This machine's address in the cluster, as its `ray start --node-ip-address`; empty: Ray's."
    )
    cpus_per_camera: float = Field(1.0, gt=0, le=64, description="CPUs a live camera's actor declares to Ray.")
    camera_restarts: int = Field(
        -1, ge=-1, description="Times Ray restarts a live camera's actor whose process died (-1: without limit)."
    )
    cpus_per_chunk: float = Field(1.0, gt=0, le=64, description="CPUs a bulk-analysis chunk task declares to Ray.")
    chunk_overlap_s: float = Field(
        5.0, ge=0.5, le=60, description="Seconds each chunk is analysed past its end, to join tracks across the cut."
    )
    min_chunk_s: float = Field(20.0, gt=0, description="Footage is not cut into chunks shorter than this.")
    chunk_s: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Footage is cut into chunks of about this many seconds, as many per worker (CPU of the cluster "
        "over cpus_per_chunk), so every worker loads its detector once and stays busy to the end.",
    )
    task_retries: int = Field(3, ge=0, le=20, description="Times Ray reruns a chunk task whose worker died.")


class FaceSettings(Section):
    index_sample_fps: float = Field(
        2.0, gt=0, le=30, description="Frames per second of a case's footage examined when indexing its faces."
    )
    index_min_quality: float = Field(
        0.1, ge=0, le=1, description="Faces of case footage scoring under this quality (0-1) are not indexed."
    )
    probe_min_quality: float = Field(
        0.2, ge=0, le=1, description="A probe photo's face must score at least this quality (0-1) to be searched."
    )
    enrol_min_quality: float = Field(
        0.1, ge=0, le=1, description="An enrolment image's face must score at least this quality (0-1)."
    )
    retro_candidates: int = Field(24, ge=1, le=500, description="Most candidates a retrospective search lists.")
    retro_min_score: float = Field(
        0.3, ge=-1, le=1, description="Faces scoring under this similarity are not listed as retrospective candidates."
    )
    default_threshold: float = Field(
        0.55, ge=-1, le=1, description="Alert threshold (cosine similarity) offered for a new live deployment."
    )
    fpir_ceiling: float = Field(
        1e-4, gt=0, lt=1, description="Warn when a deployment's expected false-alert rate per face exceeds this."
    )
    calibration_file: Path = Field(
        Path("faces/calibration.json"), description="Threshold calibration written by `vigil fr calibrate`."
    )
    max_image_mb: float = Field(20, gt=0, le=200, description="Largest photo accepted for enrolment or as a probe.")
    live_max_side: int = Field(
        640,
        ge=160,
        le=4096,
        description="Live streams: long side (px) frames are scaled to for face detection. Faces too small to find "
        "at this size are also too small to search with (fewer than 24 px between the eyes at 720p).",
    )
    allow_file_sources: bool = Field(
        False,
        description="Let administrators register a local video file as a camera's live source (replayed in real "
        "time). For tests and demonstrations only; never files in the data folder.",
    )
    allow_local_sources: bool = Field(
        False,
        description="Let a camera's live source be on this server or a loopback address (e.g. a local RTSP relay).",
    )
    source_key: SecretStr | None = Field(
        None,
        description="Fernet key sealing camera source URLs; empty means one is generated into <data_dir>/source.key.",
    )


class VisionSettings(Section):
    threads: int = Field(2, ge=1, le=64, description="Threads one ONNX Runtime session may use.")
    providers: tuple[str, ...] = Field(
        ("CPUExecutionProvider",), description="ONNX Runtime execution providers, in order of preference."
    )
    detector: str = Field("centernet", description="Object detector: 'centernet' or 'nanodet' (shipped) or 'custom'.")
    custom_model_path: Path | None = Field(
        None, description="ONNX file of a force's own detector (used when detector is 'custom')."
    )
    custom_decoder: str = Field("yolov8", description="Output decoder for the custom detector (e.g. 'yolov8').")
    score_threshold: float = Field(0.4, gt=0, lt=1, description="Detections below this score are dropped.")
    max_image_megapixels: float = Field(
        40,
        gt=0,
        le=1000,
        description="Largest picture (megapixels, read from the file's header before decoding) accepted as a photo "
        "for face enrolment or search, search by photo or `vigil describe`.",
    )

    @property
    def max_image_pixels(self) -> int:
        return int(self.max_image_megapixels * 1_000_000)


class RegistrySettings(Section):
    verify_hours: float = Field(48, gt=0, description="A registration's email verification link works this long.")
    link_days: float = Field(14, gt=0, le=365, description="A footage request's upload link expires after this.")
    remind_after_days: float = Field(
        5, gt=0, description="An unanswered footage request gets one reminder email this long after it was sent."
    )
    max_file_mb: int = Field(4096, ge=1, description="Largest single video file an owner may upload, in MiB.")
    max_request_mb: int = Field(16384, ge=1, description="Most an owner may upload for one request, in MiB.")
    registrations_per_hour: int = Field(
        10, ge=1, description="Registration form submissions allowed per client address per hour (spam limit)."
    )
    tile_url: str = Field(
        "",
        max_length=500,
        description="Base-map tile URL template ({z}/{x}/{y}), a path on vigil's own address (e.g. a reverse-proxied "
        "tile server: the pages' CSP loads images from there only); empty: vigil's offline base map (land, places).",
    )
    map_latitude: float = Field(54.6, ge=-90, le=90, description="Latitude the maps open on.")
    map_longitude: float = Field(-2.9, ge=-180, le=180, description="Longitude the maps open on.")
    map_zoom: int = Field(9, ge=1, le=19, description="Zoom level the maps open at.")
    submitted_location: str = Field(
        "Footage submitted by camera owners",
        description="Location that owner-submitted footage is held under (analysed on the owner's consent under the "
        "requesting case: this location needs no PIA).",
    )
    live_view_minutes: int = Field(
        30, ge=1, le=240, description="Integrated cameras: the longest view an owner may allow, and the default."
    )
    live_approval_minutes: float = Field(
        60, gt=0, le=1440, description="Integrated cameras: an owner's one-time view approval link works this long."
    )
    live_frames_per_second: float = Field(
        2, gt=0, le=10, description="Integrated cameras: pictures a second an open view decodes and shows."
    )
    live_connect_timeout_seconds: float = Field(
        10, gt=0, le=60, description="Integrated cameras: how long testing or opening an owner's stream may take."
    )
    live_idle_seconds: float = Field(
        20, gt=0, le=600, description="Integrated cameras: a view's reader stops when the officer's page stops asking."
    )
    allow_local_streams: bool = Field(
        False,
        description="Let an owner's stream be on this server or a loopback address, or inside the force's networks "
        "(tests and demonstrations only).",
    )
    force_networks: tuple[str, ...] = Field(
        ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"),
        description="Networks of the force (CIDR): an owner's stream address may not point inside them.",
    )

    @field_validator("force_networks")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for network in value:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not a network such as 10.0.0.0/8") from None
        return value


class LiveCameraSettings(Section):
    code: str = Field(description="Code of the registered camera the stream belongs to (`vigil camera list`).")
    url: SecretStr = Field(
        description="Stream address: rtsp://, rtsps://, http:// or https:// (may hold credentials; never shown)."
    )
    recording: Literal["continuous", "motion", "off"] = Field(
        "continuous",
        description="Recording policy: 'continuous' (every segment kept as footage), 'motion' (only segments in "
        "which something moved, with one segment before and after) or 'off'.",
    )
    analysis: bool = Field(
        True,
        description="Analyse the stream as it arrives (tracks searchable within seconds, linked to the recording; "
        "with recording off, only live rules and the wall picture see the results).",
    )

    @field_validator("code")
    @classmethod
    def _upper_code(cls, value: str) -> str:
        return value.strip().upper()

    @field_validator("url")
    @classmethod
    def _stream_scheme(cls, value: SecretStr) -> SecretStr:
        scheme = value.get_secret_value().partition("://")[0].lower()
        if scheme not in LIVE_SCHEMES:
            raise ValueError(f"a stream address must start with one of {', '.join(s + '://' for s in LIVE_SCHEMES)}")
        return value


class LiveSettings(Section):
    enabled: bool = Field(False, description="Start the live-camera supervisor with the web server.")
    recorder_user: str = Field(
        "",
        description="vigil user the recorders ingest segments as (needs the analytics capability and training).",
    )
    cameras: tuple[LiveCameraSettings, ...] = Field(
        (),
        description="Live streams to supervise, until camera sources are registered in the database. "
        'As an environment variable: a JSON list, e.g. VIGIL_LIVE__CAMERAS=\'[{"code": "C1", "url": "rtsp://..."}]\'.',
    )
    spool_dir: Path | None = Field(
        None, description="Folder segments are written to before ingest; empty: <data_dir>/live-spool."
    )
    segment_seconds: float = Field(
        60, ge=2, le=600, description="Length of a recorded segment (cut at the first keyframe after it); 60-600."
    )
    recording_retry_seconds: float = Field(
        30, ge=1, le=3600, description="After recording failed (e.g. the disk is full), try again this often."
    )
    connect_timeout_seconds: float = Field(
        10, gt=0, le=120, description="A connection attempt or a stream silent this long is given up."
    )
    backoff_initial_seconds: float = Field(1, gt=0, le=60, description="First wait before reconnecting.")
    backoff_max_seconds: float = Field(
        30, gt=0, le=600, description="Longest wait between reconnections (the wait doubles up to this)."
    )
    health_every_seconds: float = Field(
        2, ge=0.5, le=60, description="How often a camera worker writes its health to the database."
    )
    wall_picture_seconds: float = Field(
        0.5, ge=0.2, le=10, description="How often a camera's latest picture for the camera wall is written (at most)."
    )
    view_hours: float = Field(
        8,
        gt=0,
        le=24,
        description="How long a camera-wall view session (its stated purpose) lasts before it is asked again.",
    )
    analysis_fps: float = Field(
        5, gt=0, le=30, description="Live analysis: frames per second analysed (others are decoded, not analysed)."
    )
    analysis_max_height: int = Field(
        720, ge=120, le=2160, description="Live analysis: frames taller than this are scaled down to it first."
    )
    checkpoint_seconds: float = Field(
        10,
        ge=1,
        le=300,
        description="Live analysis: how often the analyser's state is saved with the tracks finished since; a "
        "killed worker resumes from it, losing at most this long.",
    )
    tracks_every_seconds: float = Field(
        2,
        ge=0.5,
        le=30,
        description="Live analysis: how often the tracks in view are written as provisional search results.",
    )


class MailSettings(Section):
    host: str = Field("127.0.0.1", description="SMTP server that sends vigil's emails.")
    port: int = Field(25, ge=1, le=65535, description="TCP port of the SMTP server.")
    username: str = Field("", description="SMTP login name; empty: no login.")
    password: SecretStr | None = Field(None, description="SMTP password.")
    starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS before sending.")
    from_address: str = Field("vigil@localhost", description="Sender address of vigil's emails.")
    link_base_url: str = Field(
        "",
        max_length=500,
        description="Address of vigil as the public reaches it, used in emailed links; empty: the address vigil "
        "serves on (web host and port).",
    )
    timeout_s: float = Field(20, gt=0, le=300, description="SMTP connection timeout, in seconds.")
    retry_seconds: float = Field(
        60, gt=0, le=3600, description="How often queued emails that could not be sent yet are retried (the outbox)."
    )
