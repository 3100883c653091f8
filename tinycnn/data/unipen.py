"""UNIPEN train_r01_v07, category 1a (real pen-written digits): the one place that knows its
pinned source, its checksums, its terms, its format and how its writers are split.

A sample is a digit as it was written: pen strokes of (x, y) tablet points, by a known writer.
The data is fetched, never shipped (see TERMS): `python -m tinycnn.data fetch unipen`.

On disk (both ways of fetching end in the same layout)::

    <data root>/unipen/train_r01_v07/README.md, CDROM-README, LICENSE
                                     data/1a/<contributor>/...   the segments (which strokes are which digit)
                                     include/<contributor>/...   the pen data they include
                                     MANIFEST.sha256             SHA-256 of every file above, written last

The manifest's own SHA-256 is pinned here (MANIFEST_SHA256), so a folder is what was verified
whichever way it came; load_unipen checks every file it reads against the manifest.
"""
import hashlib
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..fileio import NotAFileError, atomic_open, open_regular
from .paths import data_root, fetch_command

REPOSITORY = "GreenCappuccino/train_r01_v07"
COMMIT = "552a4d440bc94bb34710650c0826be7deb986f7c"
TARBALL_URL = f"https://codeload.github.com/{REPOSITORY}/tar.gz/{COMMIT}"  # the commit's tarball, ~150 MB
ARCHIVE = "train_r01_v07-1a.tar.xz"  # the same subset, for machines without internet (--from DIR)
ARCHIVE_SHA256 = "2d23246642d2c160e23bd14ad84aad6590446c8d152d0102920aeb2911d1fe62"
MANIFEST_SHA256 = "0255b62ea4ce7635b4fb4c704dfb000812424feb72ec1b1ce9a3fb16020d4e90"  # sha256sum of the sorted subset
FOLDER = "train_r01_v07"
MANIFEST = "MANIFEST.sha256"
TOP_FILES = ("README.md", "CDROM-README", "LICENSE")
CONTRIBUTORS = ("aga", "apa", "apb", "app", "art", "cea", "ceb", "ced", "gmd", "ibm", "imp", "lou",
                "pri", "syn", "tos", "uqb", "val")  # the folders of data/1a, and of include/ that they need
LEFT_OUT = {"tos": "its segments' stroke indices do not match its strokes (rendered, they are fragments)"}
FETCH_COMMAND = "python -m tinycnn.data fetch unipen"
TIMEOUT_SECONDS = 30

TERMS = """\
UNIPEN train_r01_v07 (category 1a, isolated digits), from the repository GreenCappuccino/train_r01_v07
at commit 552a4d440bc94bb34710650c0826be7deb986f7c, a patched copy of the Zenodo distribution
(doi 10.5281/zenodo.1195803), which states CC BY 4.0. The original CD-ROM notice (CDROM-README)
grants use for research, forbids distributing the data commercially and asks for proper reference.
So the data (strokes, and images made from them) is fetched, never put into the package or the
repository; a model trained on it may ship. Writers are never named: only an opaque id is kept."""

CITATION = """\
I. Guyon, L. Schomaker, R. Plamondon, M. Liberman, S. Janet, "UNIPEN project of on-line data
exchange and recognizer benchmarks", Proc. 12th IAPR International Conference on Pattern
Recognition (ICPR), Jerusalem, 1994, pp. 29-33, doi 10.1109/ICPR.1994.576870.
Unipen Consortium, "Unipen data set of on-line (vectorial) handwriting - train_r01_v07 (December
1999)" [data set], Zenodo, 1999, doi 10.5281/zenodo.1195803."""

# Limits of the reader, far above the real data (largest file 1.3 MB, 21,174 strokes in one file,
# 7,946 points in one stroke, 928 segments in one file, includes 2 deep), so that a damaged or
# hostile file costs bounded time and memory.
MAX_FILE_BYTES = 32 << 20
MAX_TOTAL_BYTES = 64 << 20    # one file and everything it includes
MAX_STROKES = 200_000
MAX_POINTS = 100_000          # in one stroke
MAX_SEGMENTS = 100_000
MAX_SEGMENT_STROKES = 1_000   # strokes one segment spans
MAX_INCLUDE_DEPTH = 8
MAX_INCLUDES = 64
MAX_COLUMNS = 8               # of a point (.COORD)


class UnipenError(ValueError):
    """A UNIPEN file is damaged or not UNIPEN. The message names the file, the line and the fault."""

    def __init__(self, path, line, problem):
        self.path, self.line, self.problem = str(path), line, problem
        super().__init__(f"{path}: line {line}: {problem}" if line else f"{path}: {problem}")


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields, not samples
class Sample:
    """One written digit.

    strokes: tuple of (n, 2) float32 arrays of (x, y) pen-down points, y pointing down, in the
      tablet's x units (y scaled to them when its resolution differs); pen-up moves are left out.
    label: the digit, 0-9. writer: an opaque writer id ("<contributor>-<10 hex digits>").
    contributor: the institution's three-letter code. quality: the file's mark ("OK" or "?").
    """

    strokes: tuple
    label: int
    writer: str
    contributor: str
    quality: str


def writer_id(contributor, name):
    """The opaque id of a writer: contributor and a hash of the name the files give (never the name)."""
    return f"{contributor}-{hashlib.sha256(f'{contributor}/{name}'.encode()).hexdigest()[:10]}"


def writer_split(writer):
    """Which part a writer's digits belong to: "train", "dev_tune" or "dev_report". FIXED, by writer.

    h = the first 8 bytes of sha256("unipen-split/" + writer) as a big-endian integer.
    h % 100 < 20 is dev (about 20% of the writers), the rest "train"; dev is halved by the next
    decimal digit: (h // 100) % 2 == 0 is "dev_tune" (tune calibration and thresholds there),
    else "dev_report" (only ever report on it). A writer never straddles two parts.
    """
    h = int.from_bytes(hashlib.sha256(f"unipen-split/{writer}".encode()).digest()[:8], "big")
    if h % 100 >= 20:
        return "train"
    return "dev_tune" if (h // 100) % 2 == 0 else "dev_report"


# ---- the format -----------------------------------------------------------------------------

_INDEX = r"\d{1,9}(?::\d{1,9})?"  # stroke, or stroke:point; 9 digits at most, so int() stays cheap
_ITEM = re.compile(rf"({_INDEX})(?:-({_INDEX}))?")
_RESOLUTION = {".X_POINTS_PER_INCH": ("X", "inch"), ".Y_POINTS_PER_INCH": ("Y", "inch"),
               ".X_POINTS_PER_MM": ("X", "mm"), ".Y_POINTS_PER_MM": ("Y", "mm")}


def _index(text):
    stroke, _, point = text.partition(":")
    return int(stroke), (int(point) if point else None)


def _parse_spec(spec, path, line):
    """A segment's strokes: "3", "0-2", "3,5", "426:18-426:68" (stroke:point, both ends included)
    -> [((first stroke, first point or None), (last stroke, last point or None))]."""
    items = []
    for part in spec.split(","):
        m = _ITEM.fullmatch(part)
        if m is None:
            raise UnipenError(path, line, f"bad stroke range {part!r} in {spec[:60]!r} "
                                          "(expected N, N-M, N:P-M:Q, comma-separated, at most 9 digits each)")
        first = _index(m.group(1))
        items.append((first, _index(m.group(2)) if m.group(2) else first))
    return items


def _parse_segment(rest, path, line):
    """`.SEGMENT <level> <strokes> <quality> "<label>"` -> (level, items, quality, label)."""
    parts = rest.split(None, 3)
    if len(parts) < 4:
        raise UnipenError(path, line, f".SEGMENT needs a level, strokes, a quality and a \"label\", got {rest[:60]!r}")
    level, spec, quality, label = parts
    label = label.strip()
    if len(label) < 2 or label[0] != '"' or label[-1] != '"':
        raise UnipenError(path, line, f".SEGMENT label must be in double quotes, got {label[:40]!r}")
    return level, _parse_spec(spec, path, line), quality, label[1:-1]


def _positive(rest, keyword, path, line):
    try:
        value = float(rest.split()[0])
    except (ValueError, IndexError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise UnipenError(path, line, f"{keyword} needs a positive number, got {rest.strip()[:40]!r}")
    return value


class _Reader:
    """One UNIPEN file and everything it includes, read in order as one text (what .INCLUDE means).

    Strokes are numbered as the README of the data says every contributor but tos numbers them:
    each .PEN_DOWN block, each .PEN_UP block that holds points, and each .DT is one stroke.
    """

    def __init__(self, include_dir, verify):
        self.include_dir, self.verify = Path(include_dir), verify
        self.strokes = []    # per stroke: (kind "pen-down" | "pen-up" | ".DT", (n, 2) float32 as in the file, or None)
        self.context = []    # per stroke: (writer name or None, y scale to x units) in force when it was read
        self.segments = []   # (items, quality, label, path, line) of each digit segment
        self.block = None    # (kind, [(x, y), ...], path, line) of the pen block being read
        self.coord = (0, 1, 2)  # columns of X and Y, and how many a point has (.COORD)
        self.resolution = {}    # "X" / "Y" -> (points per unit, unit)
        self.writer = None
        self.includes = self.bytes = 0

    def read(self, path, stack=(), where=None):
        """Read `path`; `stack`: the files including it; `where`: (path, line) of its .INCLUDE."""
        text = self._text(path, where)
        stack = stack + (path,)
        for n, line in enumerate(text.split("\n"), 1):
            if line[:1] == ".":
                self._keyword(line, path, n, stack)
            elif self.block is not None:
                parts = line.split()
                if parts:
                    self._point(parts, path, n)

    def _text(self, path, where):
        """The text of `path`, refused before reading when it is not a file or too large."""
        at, it = (where, f"{path}: ") if where else ((path, None), "")  # a missing include: name the .INCLUDE
        try:
            f = open_regular(path)
        except NotAFileError as e:
            raise UnipenError(*at, f"{it}{e.kind}, not a UNIPEN file") from None
        except FileNotFoundError:
            if where is None:
                raise  # as read_idx: no file is not a damaged file; a missing include is
            raise UnipenError(*at, f"{it}no such file") from None
        except OSError as e:
            raise UnipenError(*at, f"{it}cannot open it ({e.strerror or e})") from None
        with f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_FILE_BYTES or self.bytes + size > MAX_TOTAL_BYTES:
                raise UnipenError(path, None, f"{size:,} bytes: more than the reader's limit of "
                                              f"{MAX_FILE_BYTES:,} for a file, {MAX_TOTAL_BYTES:,} with its includes")
            data = f.read(size + 1)
        if len(data) != size:
            raise UnipenError(path, None, "the file changed while it was read")
        self.bytes += size
        if self.verify is not None:
            self.verify(path, data)
        return data.decode("latin-1")  # any byte is a character: a damaged file is read, then judged

    def _keyword(self, line, path, n, stack):
        word, _, rest = line.rstrip().replace("\t", " ").partition(" ")
        self._end_block()
        if word in (".PEN_DOWN", ".PEN_UP"):
            self.block = ("pen-down" if word == ".PEN_DOWN" else "pen-up", [], path, n)
        elif word == ".DT":
            self._add_stroke(".DT", None, path, n)
        elif word == ".SEGMENT":
            self._segment(rest, path, n)
        elif word == ".INCLUDE":
            self._include(rest, path, n, stack)
        elif word == ".WRITER_ID":
            self.writer = rest.strip() or None
        elif word in _RESOLUTION:
            axis, unit = _RESOLUTION[word]
            self.resolution[axis] = (_positive(rest, word, path, n), unit)
        elif word == ".COORD":
            self._columns(rest, path, n)

    def _columns(self, rest, path, n):
        names = rest.split()
        if "X" not in names or "Y" not in names or len(names) > MAX_COLUMNS:
            raise UnipenError(path, n, f".COORD must name X and Y among at most {MAX_COLUMNS} columns, got {rest.strip()[:60]!r}")
        self.coord = (names.index("X"), names.index("Y"), len(names))

    def _point(self, parts, path, n):
        ix, iy, columns = self.coord
        if len(parts) != columns:
            raise UnipenError(path, n, f"a point has {columns} numbers here (.COORD), got {len(parts)}: "
                                       f"{' '.join(parts)[:60]!r}")
        try:
            x, y = float(parts[ix]), float(parts[iy])
        except ValueError:
            raise UnipenError(path, n, f"not a number in the point {' '.join(parts)[:60]!r}") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise UnipenError(path, n, f"a point must be finite, got {' '.join(parts)[:60]!r}")
        points = self.block[1]
        if len(points) >= MAX_POINTS:
            raise UnipenError(path, n, f"more than {MAX_POINTS:,} points in the stroke begun at line {self.block[3]}")
        points.append((x, y))

    def _end_block(self):
        if self.block is not None:
            kind, points, path, n = self.block
            self.block = None
            if kind == "pen-down" or points:  # a pen-up block counts as a stroke only when it holds points
                self._add_stroke(kind, np.array(points, np.float32).reshape(-1, 2), path, n)

    def _add_stroke(self, kind, points, path, n):
        if len(self.strokes) >= MAX_STROKES:
            raise UnipenError(path, n, f"more than {MAX_STROKES:,} strokes")
        x_res, x_unit = self.resolution.get("X", (1.0, None))
        y_res, y_unit = self.resolution.get("Y", (1.0, None))
        scale = x_res / y_res if x_unit == y_unit else 1.0  # y to x units; mixed units are not in the data
        self.strokes.append((kind, points))
        self.context.append((self.writer, scale))

    def _segment(self, rest, path, n):
        level, items, quality, label = _parse_segment(rest, path, n)
        if len(self.segments) >= MAX_SEGMENTS:
            raise UnipenError(path, n, f"more than {MAX_SEGMENTS:,} segments")
        spans = sum(last[0] - first[0] + 1 for first, last in items)
        if spans > MAX_SEGMENT_STROKES:
            raise UnipenError(path, n, f"the segment spans {spans:,} strokes, more than {MAX_SEGMENT_STROKES:,}")
        if level == "CHARACTER" and len(label) == 1 and label in "0123456789":
            self.segments.append((items, quality, int(label), path, n))

    def _include(self, rest, path, n, stack):
        name = rest.strip()
        parts = name.replace("\\", "/").split("/")
        if not name or os.path.isabs(name) or ".." in parts or "" in parts:
            raise UnipenError(path, n, f".INCLUDE {name[:60]!r}: must be a relative path inside include/")
        target = self.include_dir.joinpath(*parts)
        if target in stack:
            cycle = " -> ".join(p.name for p in stack[stack.index(target):] + (target,))
            raise UnipenError(path, n, f".INCLUDE {name}: an include cycle ({cycle})")
        if len(stack) > MAX_INCLUDE_DEPTH:
            raise UnipenError(path, n, f".INCLUDE {name}: includes nested more than {MAX_INCLUDE_DEPTH} deep")
        self.includes += 1
        if self.includes > MAX_INCLUDES:
            raise UnipenError(path, n, f".INCLUDE {name}: more than {MAX_INCLUDES} includes")
        self.read(target, stack, (path, n))

    def samples(self, contributor, name):
        """The digit segments as Samples; `name`: the writer's name when the files give none."""
        self._end_block()
        out = []
        for items, quality, label, path, n in self.segments:
            first = items[0][0][0]
            writer = self.context[first][0] if first < len(self.strokes) else None
            strokes = tuple(self._cut(first_, last, path, n) for first_, last in items)
            strokes = tuple(s for part in strokes for s in part)
            if not strokes:
                raise UnipenError(path, n, "the segment holds no pen-down points")
            out.append(Sample(strokes, label, writer_id(contributor, writer or name), contributor, quality))
        return out

    def _cut(self, first, last, path, n):
        """The pen-down points from (stroke, point) `first` to `last`, both included: y down, equal units."""
        (s0, p0), (s1, p1) = first, last
        if s1 >= len(self.strokes):
            raise UnipenError(path, n, f"the segment names stroke {s1}, but the file and its includes "
                                       f"hold {len(self.strokes)} strokes (0-{len(self.strokes) - 1})")
        if (s0, p0 or 0) > (s1, math.inf if p1 is None else p1):
            raise UnipenError(path, n, f"the stroke range {s0}-{s1} runs backwards")
        for s, end in ((s0, "starts"), (s1, "ends")):
            if self.strokes[s][0] != "pen-down":
                raise UnipenError(path, n, f"the segment {end} on stroke {s}, a {self.strokes[s][0]} stroke, not "
                                           "a pen-down one: its stroke indices do not match the strokes")
        out = []
        for s in range(s0, s1 + 1):
            kind, points = self.strokes[s]
            if kind != "pen-down":
                continue  # the pen in the air: not ink
            lo = p0 if s == s0 and p0 is not None else 0
            hi = p1 + 1 if s == s1 and p1 is not None else len(points)
            if hi > len(points) or lo >= max(hi, 1):
                raise UnipenError(path, n, f"points {lo}-{hi - 1} of stroke {s}, which has {len(points)}")
            if hi > lo:
                yscale = self.context[s][1]
                out.append(np.column_stack([points[lo:hi, 0], -yscale * points[lo:hi, 1]]).astype(np.float32))
        return out


def read_unipen(path, include_dir, contributor, name=None, verify=None):
    """The digits of one UNIPEN file (category 1a style): a list of Sample.

    path: the file holding the .SEGMENTs; include_dir: the folder its .INCLUDE names are relative
    to; contributor: its three-letter code (LEFT_OUT ones are refused); name: what to hash into the
    writer id when the files name no writer (default: the file's name); verify: called as
    verify(path, bytes) for every file read, before it is parsed (load_unipen checks checksums there).
    Only CHARACTER segments labelled 0-9 are kept.
    Raises UnipenError (a ValueError) naming the file and line for anything damaged (a missing
    include too), FileNotFoundError when `path` does not exist.
    """
    if contributor in LEFT_OUT:
        raise UnipenError(path, None, f"contributor {contributor} is left out: {LEFT_OUT[contributor]}")
    reader = _Reader(include_dir, verify)
    reader.read(Path(path))
    return reader.samples(contributor, name if name is not None else Path(path).name)


# ---- the fetched folder ----------------------------------------------------------------------

def default_root():
    """Where UNIPEN lives: data_root() / "unipen" (see tinycnn.data.paths)."""
    return data_root() / "unipen"


def _manifest_text(sums):
    """The manifest: one `<sha256>  <path>` line per file, sorted by path (sha256sum's format)."""
    return "".join(f"{sums[rel]}  {rel}\n" for rel in sorted(sums))


def read_manifest(tree):
    """{relative path: sha256} of a fetched folder, after checking the manifest is the pinned one.

    Raises FileNotFoundError (with the command that fetches it) when there is no verified fetch
    in `tree`, UnipenError when its manifest is not the pinned one.
    """
    path = Path(tree) / MANIFEST
    if not path.is_file():
        what = "no such folder" if not Path(tree).is_dir() else f"no {MANIFEST}: not a verified fetch"
        raise FileNotFoundError(f"UNIPEN not found in {tree} ({what}). Fetch it with: {FETCH_COMMAND}")
    with open_regular(path) as f:
        data = f.read(1 << 20)
    got = hashlib.sha256(data).hexdigest()
    if got != MANIFEST_SHA256:
        raise UnipenError(path, None, f"SHA-256 {got}, expected {MANIFEST_SHA256}: the folder is not the "
                                      f"verified UNIPEN subset. Delete {tree} and run {FETCH_COMMAND}")
    sums = {}
    for line in data.decode("ascii").splitlines():
        digest, _, rel = line.partition("  ")
        sums[rel] = digest
    return sums


def _verifier(tree, sums):
    """verify(path, bytes) for read_unipen: refuse bytes that are not what the manifest lists."""
    tree = Path(tree)

    def verify(path, data):
        rel = Path(path).relative_to(tree).as_posix() if Path(path).is_relative_to(tree) else None
        if rel not in sums:
            raise UnipenError(path, None, "not a file of the verified UNIPEN subset")
        got = hashlib.sha256(data).hexdigest()
        if got != sums[rel]:
            raise UnipenError(path, None, f"SHA-256 {got}, expected {sums[rel]} ({MANIFEST}): the file changed "
                                          f"after it was fetched. Delete {tree} and run {FETCH_COMMAND}")
    return verify


def load_unipen(root=None):
    """Every digit of UNIPEN 1a but the LEFT_OUT contributors, from a verified fetch: a list of Sample.

    root: the folder fetch_unipen filled (default default_root()). Every file read is checked
    against the pinned manifest first. About 15,400 digits by 211 writers; takes a few seconds.
    Raises FileNotFoundError (saying how to fetch it) when absent, UnipenError when damaged.
    """
    tree = (Path(root) if root is not None else default_root()) / FOLDER
    sums = read_manifest(tree)
    verify = _verifier(tree, sums)
    samples = []
    for rel in sorted(sums):
        parts = rel.split("/")
        if parts[:2] == ["data", "1a"] and len(parts) > 3 and parts[2] not in LEFT_OUT:
            try:
                samples += read_unipen(tree / rel, tree / "include", parts[2], name=rel, verify=verify)
            except FileNotFoundError:
                raise UnipenError(tree / rel, None, f"listed in {MANIFEST} but missing. Delete {tree} "
                                                    f"and run {FETCH_COMMAND}") from None
    return samples


# ---- fetching --------------------------------------------------------------------------------

MAX_SUBSET_BYTES = 1 << 30   # the subset is 74 MB unpacked


def _in_subset(rel):
    parts = rel.split("/")
    return (rel in TOP_FILES or (parts[:2] == ["data", "1a"] and len(parts) > 2)
            or (parts[0] == "include" and len(parts) > 2 and parts[1] in CONTRIBUTORS))


def _extract_subset(tar, tree, origin):
    """Write the subset's files from `tar` (a tarfile read in order, one top folder, as GitHub's
    tarballs and ARCHIVE have) under `tree`, hashing them as they are written.
    Returns {path relative to tree: sha256}; origin names the source in errors."""
    sums, top, total = {}, None, 0
    for member in tar:
        head, _, rel = member.name.partition("/")  # tarfile strips a folder's trailing "/"
        top = head if top is None else top
        parts = rel.split("/")
        if head != top or (rel and ("" in parts or ".." in parts)):
            raise RuntimeError(f"{origin}: unexpected path {member.name!r} in the archive")
        if not rel or member.isdir() or not _in_subset(rel):
            continue
        if not member.isfile():
            raise RuntimeError(f"{origin}: {member.name} is a link or a special file, not a data file")
        total += member.size
        if member.size > MAX_FILE_BYTES:
            raise RuntimeError(f"{origin}: {member.name} is {member.size:,} bytes, more than a UNIPEN file's "
                               f"{MAX_FILE_BYTES:,}")
        if total > MAX_SUBSET_BYTES:
            raise RuntimeError(f"{origin}: more than {MAX_SUBSET_BYTES:,} bytes of files: not the UNIPEN subset")
        out = tree.joinpath(*parts)
        out.parent.mkdir(parents=True, exist_ok=True)
        h = hashlib.sha256()
        with tar.extractfile(member) as src, open(out, "xb") as dst:  # "x": a name twice is an error
            for block in iter(lambda: src.read(1 << 20), b""):
                h.update(block)
                dst.write(block)
        sums[rel] = h.hexdigest()
    return sums


def _read_tar(stream, tree, origin):
    """_extract_subset of a compressed tar stream, any damage reported as a RuntimeError."""
    import lzma  # only when fetching
    import tarfile
    import zlib

    try:
        with tarfile.open(fileobj=stream, mode="r|*") as tar:
            return _extract_subset(tar, tree, origin)
    except (tarfile.TarError, EOFError, lzma.LZMAError, zlib.error) as e:
        raise RuntimeError(f"{origin}: damaged archive ({e})") from None


def _from_archive(archive, staging, tree):
    """Copy ARCHIVE into staging, check its SHA-256, unpack the subset from the checked copy."""
    copy, h = staging / ARCHIVE, hashlib.sha256()
    with open_regular(archive) as src, open(copy, "xb") as dst:
        for block in iter(lambda: src.read(1 << 20), b""):
            h.update(block)
            dst.write(block)
    if h.hexdigest() != ARCHIVE_SHA256:
        raise RuntimeError(f"{archive}: SHA-256 {h.hexdigest()}, expected {ARCHIVE_SHA256}: "
                           f"not the UNIPEN archive, or damaged")
    with open(copy, "rb") as f:
        return _read_tar(f, tree, archive)


class _Progress:
    """A stream that moves a progress bar as it is read."""

    def __init__(self, stream, bar):
        self.stream, self.bar = stream, bar

    def read(self, n=-1):
        data = self.stream.read(n)
        self.bar.update(len(data))
        return data


def _from_url(url, tree):
    """Download the commit's tarball and unpack the subset as it streams in (nothing else is kept)."""
    import urllib.error
    import urllib.request  # only when downloading: it costs ~50 ms at import

    from tqdm import tqdm

    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as r:
            total = int(r.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc="UNIPEN (GitHub tarball)") as bar:
                return _read_tar(_Progress(r, bar), tree, url)
    except (urllib.error.URLError, OSError) as e:
        raise RuntimeError(f"could not download {url} ({getattr(e, 'reason', e)}). No internet? Copy the "
                           f"archive from a folder that has {ARCHIVE}: {FETCH_COMMAND} --from DIR") from None


def _seal(tree, sums, origin):
    """Check the files are the pinned subset (the manifest's SHA-256), then write the manifest, last."""
    text = _manifest_text(sums).encode()
    got = hashlib.sha256(text).hexdigest()
    if got != MANIFEST_SHA256:
        raise RuntimeError(f"{origin}: its {len(sums)} files are not the pinned UNIPEN subset "
                           f"(manifest SHA-256 {got}, expected {MANIFEST_SHA256})")
    with atomic_open(tree / MANIFEST) as f:
        f.write(text)


def check_fetched(tree):
    """None when `tree` holds the verified subset (the pinned manifest, every file matching it), else why not."""
    try:
        sums = read_manifest(tree)
        verify = _verifier(tree, sums)
        for rel in sums:
            with open_regular(Path(tree) / rel) as f:
                verify(Path(tree) / rel, f.read(MAX_FILE_BYTES + 1))
    except (OSError, UnipenError) as e:
        return str(e)
    return None


def fetch_unipen(dest=None, source=None, url=TARBALL_URL, log=print):
    """Put UNIPEN 1a, verified, into dest / FOLDER (dest default: default_root()); returns dest.

    source: a folder holding ARCHIVE (e.g. ../shared/unipen) to copy instead of downloading the
    commit's tarball from `url`. Either way the subset is unpacked into a temporary folder in
    dest, checked against MANIFEST_SHA256, sealed with its manifest and only then renamed into
    place: a failure leaves nothing half-made. A verified folder already in place is kept.
    Raises RuntimeError saying what went wrong and what to do.
    """
    dest = Path(dest) if dest is not None else default_root()
    final = dest / FOLDER
    problem = check_fetched(final)
    if problem is None:
        log(f"{final}: present and verified")
        return dest
    if final.exists():
        log(f"{problem}; fetching it again")
    if source is not None and not (Path(source) / ARCHIVE).is_file():
        raise RuntimeError(f"--from {source}: no {ARCHIVE} in that folder")
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=dest))
    try:
        tree = staging / FOLDER
        if source is not None:
            _seal(tree, _from_archive(Path(source) / ARCHIVE, staging, tree), Path(source) / ARCHIVE)
        else:
            _seal(tree, _from_url(url, tree), url)
        if final.exists():
            os.replace(final, staging / "old")  # the damaged one goes with the staging folder
        os.replace(tree, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(f"{final}: verified")
    return dest


def main(argv=None):
    """Command line: fetch UNIPEN into default_root() (or --dest), from GitHub or --from DIR."""
    status, where = fetch_command(argv, FETCH_COMMAND, "Fetch and verify UNIPEN train_r01_v07 category 1a: "
                                  "real pen-written digits.", fetch_unipen, default_root(), needs=ARCHIVE)
    if where is not None:
        print(f"{TERMS}\n\nCite:\n{CITATION}\n\nUNIPEN is ready in {where / FOLDER}")
    return status
