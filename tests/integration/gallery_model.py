"""The gallery's Go `Photo` model (docs/photo-item.md), as an oracle for the items enlarger
writes: each attribute's Go type and the DynamoDB type it unmarshals from. A number where the
model has a string, or a fraction where it has an int, breaks the Go SDK's unmarshalling of
the whole item (attributevalue.UnmarshalMap parses an int field's N with strconv.ParseInt).

DynamoDB items are read by the caller with botocore and decoded here with boto3's
TypeDeserializer (Debian python3-boto3), never with enlarger's code; SQLite rows are checked
by their column's stored type (sqlite3's typeof()).
"""
import re

# attribute -> Go type (int, int64, float64, string, or the gps struct)
MODEL = {
    "optimizedKey": "string", "thumbnailKey": "string",
    "width": "int", "height": "int",
    "fileSize": "int64",
    "cameraModel": "string", "cameraMake": "string",
    "dateTaken": "string",
    "iso": "int",
    "focalLength": "string",
    "aperture": "string",
    "shutterSpeed": "string",
    "gps": "gps",
    "processingStatus": "string",
}
STATUSES = ("pending", "processing", "completed", "failed", "deleted")
DECIMAL = re.compile(r"^[0-9]+(\.[0-9]{1,2})?$")
SHUTTER = re.compile(r"^(1/[0-9]+|[0-9]+(\.[0-9])?)$")
DDB_TYPE = {"string": "S", "int": "N", "int64": "N", "float64": "N", "gps": "M"}


def _shown(name, v, errors):
    """The gallery shows these strings as they are: they must look like numbers."""
    if name in ("aperture", "focalLength") and not DECIMAL.match(v):
        errors.append(f"{name} {v!r} is not a short decimal like \"2.8\" or \"24\"")
    if name == "shutterSpeed" and not SHUTTER.match(v):
        errors.append(f"shutterSpeed {v!r} is neither \"1/250\" nor \"2.5\"")
    if name == "processingStatus" and v not in STATUSES:
        errors.append(f"processingStatus {v!r} is not one of {STATUSES}")


def check_dynamodb_item(raw, require=()):
    """raw: a GetItem "Item" as botocore returns it ({"name": {"S": ..}}). Returns a list of
    mismatches with the model; require names attributes that must be present."""
    from boto3.dynamodb.types import TypeDeserializer
    from decimal import Decimal
    des = TypeDeserializer()
    errors = []
    for name in require:
        if name not in raw:
            errors.append(f"{name} missing")
    for name, go in MODEL.items():
        if name not in raw:
            continue
        av = raw[name]
        want = DDB_TYPE[go]
        if set(av) != {want}:
            errors.append(f"{name}: DynamoDB type {sorted(av)} where the model's {go} "
                          f"needs {want}")
            continue
        v = des.deserialize(av)
        if go == "string":
            _shown(name, v, errors)
        elif go in ("int", "int64"):
            # Go's ParseInt: digits only, no fraction, no exponent.
            if not re.fullmatch(r"-?[0-9]+", av["N"]):
                errors.append(f"{name}: N {av['N']!r} does not parse as a Go {go}")
            elif go == "int" and not -2**63 <= int(v) < 2**63:
                errors.append(f"{name}: {v} overflows a Go int")
        elif go == "gps":
            for member in ("latitude", "longitude"):
                m = v.get(member)
                if not isinstance(m, Decimal):
                    errors.append(f"gps.{member}: {m!r} is not a number")
            for member, inner in av["M"].items():
                if set(inner) != {"N"}:
                    errors.append(f"gps.{member}: type {sorted(inner)}, not N")
    return errors


def check_sqlite_row(db, table, key_attr, photo_id, require=()):
    """The same names on the SQLite table: string columns hold TEXT, integer ones INTEGER,
    gps is the REAL columns gpsLatitude and gpsLongitude."""
    cols = {r[1] for r in db.execute(f'PRAGMA table_info("{table}")')}
    errors = []
    for name in require:
        if name not in cols and not (name == "gps" and "gpsLatitude" in cols):
            errors.append(f"{name}: no such column")
    for name, go in MODEL.items():
        names = ["gpsLatitude", "gpsLongitude"] if go == "gps" else [name]
        for col in names:
            if col not in cols:
                errors.append(f"{col}: no such column")
                continue
            r = db.execute(f'SELECT typeof("{col}"), "{col}" FROM "{table}" '
                           f'WHERE "{key_attr}" = ?', (photo_id,)).fetchone()
            if r is None:
                return errors + [f"no row {photo_id!r}"]
            typ, v = r
            if typ == "null":
                if name in require:
                    errors.append(f"{col} is NULL")
                continue
            want = {"string": "text", "int": "integer", "int64": "integer",
                    "gps": "real"}[go]
            if typ != want:
                errors.append(f"{col}: SQLite type {typ} where the model's {go} needs {want}")
            elif go == "string":
                _shown(name, v, errors)
    return errors
