"""EXIF fields from enl_exif_* against exiftool (the oracle).

    exif_oracle.py DUMP synthetic   images made here, tags written by exiftool
    exif_oracle.py DUMP shared      every photo in $ENL_SHARED_TESTDATA/photos (77 = skip)

DUMP is tests/unit/exif_dump.c: it loads the image with libvips, hands the "exif-data" blob
to enl_exif_parse (as the pipeline does) and prints enl_exif_json / enl_exif_gps_json.
The expected values come from `exiftool -n -json -G1 -a` (and exiftool's printed
ExposureTime for the "1/250" text); the rules of src/core/exif.c (which tag wins, what
counts as absent) are applied to exiftool's values in expected() below.
"""

import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

STRINGS = [
    ("cameraMake", "IFD0:Make"),
    ("cameraModel", "IFD0:Model"),
    ("lensModel", "ExifIFD:LensModel"),
    ("software", "IFD0:Software"),
    ("artist", "IFD0:Artist"),
    ("copyright", "IFD0:Copyright"),
]


def num(v):
    """exiftool -n value as a float, or None (strings such as "undef" or "100 0")."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    m = re.match(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)", str(v))
    return float(m.group(1)) if m else None


def iso_date(dt, off):
    m = re.fullmatch(r"(\d{4})[:-](\d\d)[:-](\d\d)[ T](\d\d):(\d\d):(\d\d).*", str(dt or ""))
    if not m:
        return None
    y, mo, d, h, mi, s = (int(g) for g in m.groups())
    if y < 1 or not 1 <= mo <= 12 or not 1 <= d <= 31 or h > 23 or mi > 59 or s > 60:
        return None
    out = "%04d-%02d-%02dT%02d:%02d:%02d" % (y, mo, d, h, mi, s)
    if off is not None and re.fullmatch(r"[+-]\d\d:\d\d", str(off)):
        out += str(off)
    return out


def trimmed(text):
    """A decimal without trailing zeros: "2.0" -> "2", "5.90" -> "5.9", "0.95" stays."""
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def expected(o, printed):
    """What enl_exif_json / enl_exif_gps_json must say, from exiftool's tags."""
    exp = {}
    for key, tag in STRINGS:
        v = o.get(tag)
        if v is None:
            continue
        if isinstance(v, str):
            v = v.rstrip(" \0")
            if not v:
                continue
        exp[key] = v  # exiftool -json turns "8.3" into 8.3: compared as a number
    for dt, off in (("ExifIFD:DateTimeOriginal", "ExifIFD:OffsetTimeOriginal"),
                    ("ExifIFD:CreateDate", "ExifIFD:OffsetTimeDigitized")):
        d = iso_date(o.get(dt), o.get(off))
        if d:
            exp["dateTaken"] = d
            break
    iso = num(o.get("ExifIFD:ISO"))
    if iso is not None and iso == 65535:
        for t in ("ExifIFD:ISOSpeed", "ExifIFD:RecommendedExposureIndex"):
            real = num(o.get(t))
            if real is not None and real > 65535:
                iso = real
                break
    if iso is not None and iso >= 1:
        exp["iso"] = int(iso)
    fl = num(o.get("ExifIFD:FocalLength"))
    if fl is not None and fl > 0:
        exp["focalLengthMm"] = fl
        exp["focalLength"] = trimmed("%.2f" % fl)
    fn, fn_tag = num(o.get("ExifIFD:FNumber")), "ExifIFD:FNumber"
    if fn is None or fn <= 0:
        fn, fn_tag = num(o.get("ExifIFD:ApertureValue")), "ExifIFD:ApertureValue"  # 2^(Av/2)
    if fn is not None and fn > 0:
        exp["fNumber"] = fn
        # exiftool prints FNumber and ApertureValue with one decimal (two below 1).
        exp["aperture"] = trimmed(str(printed.get(fn_tag)))
    t = num(o.get("ExifIFD:ExposureTime"))
    if t is not None and t > 0:
        exp["exposureSeconds"] = t
        exp["shutterSpeed"] = str(printed.get("ExifIFD:ExposureTime"))
    ori = num(o.get("IFD0:Orientation"))
    if ori is not None and 1 <= ori <= 8:
        exp["orientation"] = int(ori)

    gps = None
    lat, lon = num(o.get("Composite:GPSLatitude")), num(o.get("Composite:GPSLongitude"))
    if lat is not None and lon is not None:
        gps = {"latitude": lat, "longitude": lon}
        alt = num(o.get("Composite:GPSAltitude"))
        if alt is None:
            alt = num(o.get("GPS:GPSAltitude"))  # no AltitudeRef: above sea level
        if alt is not None:
            gps["altitude"] = alt
    return exp, gps


def same(a, b):
    if isinstance(b, str) or isinstance(a, str):
        if isinstance(a, str) and isinstance(b, str):
            return a == b
        try:
            return float(a) == float(b)
        except (TypeError, ValueError):
            return False
    return math.isclose(float(a), float(b), rel_tol=1e-7, abs_tol=1e-9)


def compare(name, got, exp, what):
    errors = []
    got = got or {}
    exp = exp or {}
    for k in sorted(set(got) | set(exp)):
        if k not in exp:
            errors.append("%s %s: %s=%r but exiftool has none" % (name, what, k, got[k]))
        elif k not in got:
            errors.append("%s %s: %s missing, exiftool says %r" % (name, what, k, exp[k]))
        elif not same(got[k], exp[k]):
            errors.append("%s %s: %s=%r, exiftool says %r" % (name, what, k, got[k], exp[k]))
    return errors


def exiftool(files, numeric):
    args = ["exiftool", "-j", "-G1", "-a"] + (["-n"] if numeric else []) + files
    r = subprocess.run(args, capture_output=True, text=True)
    if not r.stdout.strip():
        raise SystemExit("exiftool gave nothing: %s" % r.stderr)
    return {os.path.abspath(d["SourceFile"]): d for d in json.loads(r.stdout)}


def check_files(dump, files, musts=None):
    """Compares every file; musts maps a file to values it must have whatever exiftool says
    (guards against the oracle and us agreeing on nothing)."""
    files = [os.path.abspath(f) for f in files]
    raw, printed = exiftool(files, True), exiftool(files, False)
    errors = []
    for f in files:
        name = os.path.basename(f)
        r = subprocess.run([dump, f], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            errors.append("%s: dump failed (%d): %s" % (name, r.returncode, r.stderr[-500:]))
            continue
        got = json.loads(r.stdout)
        exp, gps = expected(raw.get(f, {}), printed.get(f, {}))
        errs = compare(name, got["exif"], exp, "exif") + compare(name, got["gps"], gps, "gps")
        if (got["gps"] is None) != (gps is None):
            errs.append("%s gps: got %r, exiftool %r" % (name, got["gps"], gps))
        for key, want in (musts or {}).get(f, {}).items():
            have = got["gps"].get(key) if key in ("latitude", "longitude", "altitude") and \
                got["gps"] else got["exif"].get(key)
            if have is None or not same(have, want):
                errs.append("%s: %s=%r, the test wrote %r" % (name, key, have, want))
        print("%-40s %s" % (name, "ok" if not errs else "FAIL"))
        if errs or os.environ.get("VERBOSE"):
            print("   got", json.dumps(got, sort_keys=True))
            print("   exp", json.dumps({"exif": exp, "gps": gps}, sort_keys=True))
        errors += errs
    return errors


FULL = {
    "Make": "Canon", "Model": "Canon EOS R5", "LensModel": "RF24-105mm F4 L IS USM",
    "DateTimeOriginal": "2021:03:04 10:11:12", "OffsetTimeOriginal": "+02:00",
    "ISO": "400", "FocalLength": "50", "FNumber": "4", "ExposureTime": "1/250",
    "Artist": "Ansel A.", "Copyright": "(c) 2021 Ansel A.", "Software": "Lightroom 7.0",
}

# (file name, tags to write with exiftool ("#" = raw value), values we must see)
CASES = [
    ("ne.jpg", dict(FULL, **{"Orientation#": "1", "GPSLatitude": "48.8584", "GPSLatitudeRef": "N",
                             "GPSLongitude": "2.2945", "GPSLongitudeRef": "E",
                             "GPSAltitude": "35.5", "GPSAltitudeRef#": "0"}),
     {"latitude": 48.8584, "longitude": 2.2945, "altitude": 35.5, "shutterSpeed": "1/250",
      "dateTaken": "2021-03-04T10:11:12+02:00", "iso": 400, "fNumber": 4, "focalLengthMm": 50,
      "aperture": "4", "focalLength": "50",
      "lensModel": "RF24-105mm F4 L IS USM", "orientation": 1}),
    ("nw.jpg", {"Make": "NIKON CORPORATION", "Model": "NIKON Z 9", "ExposureTime": "2.5",
                "FNumber": "8", "FocalLength": "24.5", "ISO": "64", "Orientation#": "6",
                "DateTimeOriginal": "2022:12:31 23:59:58", "GPSLatitude": "40.6892",
                "GPSLatitudeRef": "N", "GPSLongitude": "74.0445", "GPSLongitudeRef": "W"},
     {"latitude": 40.6892, "longitude": -74.0445, "shutterSpeed": "2.5", "exposureSeconds": 2.5,
      "dateTaken": "2022-12-31T23:59:58", "orientation": 6, "aperture": "8",
      "focalLength": "24.5", "focalLengthMm": 24.5}),
    ("se.jpg", {"Make": "SONY", "ExposureTime": "30", "Orientation#": "3",
                "GPSLatitude": "33.8568", "GPSLatitudeRef": "S", "GPSLongitude": "151.2153",
                "GPSLongitudeRef": "E", "GPSAltitude": "10.25", "GPSAltitudeRef#": "1"},
     {"latitude": -33.8568, "longitude": 151.2153, "altitude": -10.25, "shutterSpeed": "30",
      "orientation": 3}),
    ("sw.jpg", {"Make": "FUJIFILM", "ExposureTime": "0.3", "Orientation#": "8",
                "GPSLatitude": "22.9519", "GPSLatitudeRef": "S", "GPSLongitude": "43.2105",
                "GPSLongitudeRef": "W", "GPSAltitude": "400", "GPSAltitudeRef#": "0"},
     {"latitude": -22.9519, "longitude": -43.2105, "altitude": 400, "orientation": 8}),
    # ApertureValue only, DateTimeDigitized fallback (never ModifyDate), ISO over 65535.
    ("fallbacks.jpg", {"ApertureValue": "2.8", "CreateDate": "2019:12:31 23:59:59",
                       "OffsetTimeDigitized": "-03:30", "ModifyDate": "2020:01:01 00:00:00",
                       "ISO": "65535", "ISOSpeed": "204800", "SensitivityType#": "3"},
     {"fNumber": 2.8, "aperture": "2.8", "dateTaken": "2019-12-31T23:59:59-03:30",
      "iso": 204800}),
    ("modifydate_only.jpg", {"Make": "Leica", "ModifyDate": "2020:01:01 00:00:00"},
     {"cameraMake": "Leica"}),
    ("unicode.jpg", {"Make": "Canon   ", "Model": "EOS", "Artist": "Jérôme Müller",
                     "Copyright": "© 2024 Zoë Ångström"},
     {"cameraMake": "Canon", "artist": "Jérôme Müller", "copyright": "© 2024 Zoë Ångström"}),
    # GPSAltitudeRef missing: above sea level.
    ("noaltref.jpg", {"GPSLatitude": "1.5", "GPSLatitudeRef": "N", "GPSLongitude": "103.8",
                      "GPSLongitudeRef": "E", "GPSAltitude": "15"},
     {"latitude": 1.5, "longitude": 103.8, "altitude": 15}),
    ("noexif.jpg", {}, {}),
    # The other containers libvips hands EXIF over from (bare TIFF header in PNG, "Exif\0\0"
    # in WebP and HEIF after libvips drops the HEIF item's offset prefix).
    ("full.heic", dict(FULL, **{"Orientation#": "5", "GPSLatitude": "35.6586", "GPSLatitudeRef": "N",
                               "GPSLongitude": "139.7454", "GPSLongitudeRef": "E",
                               "GPSAltitude": "3.5", "GPSAltitudeRef#": "1"}),
     {"latitude": 35.6586, "longitude": 139.7454, "altitude": -3.5, "orientation": 5}),
    ("full.avif", dict(FULL, **{"Orientation#": "7"}), {"orientation": 7, "iso": 400}),
    ("full.webp", dict(FULL, **{"Orientation#": "2"}), {"orientation": 2, "cameraMake": "Canon"}),
    ("full.png", dict(FULL, **{"Orientation#": "4", "GPSLatitude": "51.5", "GPSLatitudeRef": "S",
                              "GPSLongitude": "0.1276", "GPSLongitudeRef": "W"}),
     {"orientation": 4, "latitude": -51.5, "longitude": -0.1276}),
]


def synthetic(dump):
    for tool in ("exiftool", "vips"):
        if not shutil.which(tool):
            raise SystemExit("%s is not installed (scripts/install-deps.sh installs it)" % tool)
    with tempfile.TemporaryDirectory(prefix="enl-exif-") as tmp:
        files, musts = [], {}
        for name, tags, must in CASES:
            path = os.path.join(tmp, name)
            subprocess.run(["vips", "black", path, "64", "48", "--bands", "3"], check=True)
            if tags:
                args = ["exiftool", "-q", "-q", "-overwrite_original"]
                args += ["-%s=%s" % (k, v) for k, v in tags.items()]
                subprocess.run(args + [path], check=True)
            files.append(path)
            musts[os.path.abspath(path)] = must
        return check_files(dump, files, musts)


def shared(dump):
    base = os.environ.get("ENL_SHARED_TESTDATA", "")
    folder = os.path.join(base, "photos")
    if not base or not os.path.isdir(folder):
        print("skip: no shared photos folder (%s); set ENL_SHARED_TESTDATA" % folder)
        sys.exit(77)
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder)
                   if f.lower().endswith((".jpg", ".jpeg", ".heic", ".heif", ".png", ".webp",
                                          ".avif", ".tif", ".tiff")))
    if not files:
        print("skip: %s holds no photos" % folder)
        sys.exit(77)
    return check_files(dump, files)


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in ("synthetic", "shared"):
        raise SystemExit("usage: exif_oracle.py DUMP synthetic|shared")
    dump = sys.argv[1]
    errors = synthetic(dump) if sys.argv[2] == "synthetic" else shared(dump)
    for e in errors:
        print("FAIL", e)
    print("%d problem(s)" % len(errors))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
