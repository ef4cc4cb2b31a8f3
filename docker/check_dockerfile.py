#!/usr/bin/env python3
"""Checks for docker/Dockerfile where no Docker engine runs (stdlib only).

  check_dockerfile.py policy DOCKERFILE
      The rules the image must keep (issue 5), beyond what a generic linter knows:
      bookworm-slim stages pinned by digest, install-deps.sh build/runtime, non-root USER, exec-form
      ENTRYPOINT/CMD, HEALTHCHECK on /healthz, EXPOSE 8080, ENLARGER_LISTEN, no ADD,
      no `apt-get install` outside the install script. Exit 1 with one line per violation.

  check_dockerfile.py replay DOCKERFILE ROOT CONTEXT BUILD_STAGE_ROOT
      Replays the final stage into ROOT (a debootstrapped bookworm minbase, the same base
      as debian:bookworm-slim): COPY from CONTEXT, COPY --from=<stage> from
      BUILD_STAGE_ROOT (what the build stage's `cmake --install` produced), RUN through
      `chroot ROOT /bin/sh -c` with the stage's ENV, as its USER. Prints the image config
      (user, workdir, env, entrypoint, cmd, healthcheck) as JSON for the caller.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys


def parse(path):
    """Instructions as (lineno, KEYWORD, rest), continuation lines joined, comments dropped."""
    out = []
    buf, start = "", 0
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not buf and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if buf and line.lstrip().startswith("#"):
                continue  # comment inside a continued instruction
            if not buf:
                start = n
            if line.endswith("\\"):
                buf += line[:-1] + " "
                continue
            buf += line
            kw, _, rest = buf.strip().partition(" ")
            out.append((start, kw.upper(), rest.strip()))
            buf = ""
    if buf:
        kw, _, rest = buf.strip().partition(" ")
        out.append((start, kw.upper(), rest.strip()))
    return out


def stages(instrs):
    """[(from_line, image, name, [instrs...])], ARGs before the first FROM substituted."""
    args, result = {}, []
    for ln, kw, rest in instrs:
        if kw == "ARG" and not result:
            k, _, v = rest.partition("=")
            args[k.strip()] = v.strip().strip('"')
        elif kw == "FROM":
            words = rest.split()
            words = [w for w in words if not w.startswith("--")]
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m.group(1) or m.group(2), ""), words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            result.append((ln, image, name, []))
        elif result:
            result[-1][3].append((ln, kw, rest))
    return result


# Both stages on Debian 12 slim, pinned by the image digest (a tag alone can move).
BASE_IMAGE = re.compile(r"debian:bookworm(-\d{8})?-slim@sha256:[0-9a-f]{64}")


def exec_form(rest):
    try:
        v = json.loads(rest)
    except ValueError:
        return None
    return v if isinstance(v, list) and all(isinstance(x, str) for x in v) else None


def policy(path):
    errs = []
    st = stages(parse(path))
    if len(st) < 2:
        return [f"{path}: want a multi-stage build (build + final), found {len(st)} stage(s)"]
    for ln, image, _name, body in st:
        if not BASE_IMAGE.fullmatch(image):
            errs.append(f"{path}:{ln}: stage base is {image!r}, want debian:bookworm[-YYYYMMDD]-slim@sha256:<digest>")
        for bl, kw, rest in body:
            if kw == "ADD":
                errs.append(f"{path}:{bl}: ADD: use COPY")
            if kw == "RUN" and re.search(r"apt-get\s+install|apt\s+install", rest):
                errs.append(f"{path}:{bl}: packages come from scripts/install-deps.sh, not apt-get here")
            if kw == "MAINTAINER":
                errs.append(f"{path}:{bl}: MAINTAINER is deprecated")
    build = st[0][3]
    final_ln, _, _, final = st[-1]
    runs = lambda body: " ;; ".join(r for _, k, r in body if k == "RUN")
    if not re.search(r"install-deps\.sh\s+build\b", runs(build)):
        errs.append(f"{path}: build stage must run scripts/install-deps.sh build")
    if not re.search(r"cmake --install", runs(build)):
        errs.append(f"{path}: build stage must `cmake --install` the binary")
    if not re.search(r"install-deps\.sh\s+runtime\b", runs(final)):
        errs.append(f"{path}: final stage must run install-deps.sh runtime")
    if re.search(r"install-deps\.sh\s+(build|dev)\b|\bcmake\b|\bgcc\b|build-essential", runs(final)):
        errs.append(f"{path}: final stage installs build tools")
    kws = {}
    for ln, kw, rest in final:
        kws.setdefault(kw, []).append((ln, rest))
    users = kws.get("USER", [])
    if not users:
        errs.append(f"{path}:{final_ln}: final stage has no USER (runs as root)")
    else:
        u = users[-1][1].split(":")[0]
        if u in ("root", "0"):
            errs.append(f"{path}:{users[-1][0]}: final USER is root")
    for kw in ("ENTRYPOINT", "CMD"):
        items = kws.get(kw, [])
        if len(items) > 1:
            errs.append(f"{path}:{items[1][0]}: more than one {kw}")
        if kw == "ENTRYPOINT" and not items:
            errs.append(f"{path}: final stage has no ENTRYPOINT")
        for ln, rest in items:
            if exec_form(rest) is None:
                errs.append(f"{path}:{ln}: {kw} must be exec form (JSON array) so SIGTERM reaches enlarger")
    hc = kws.get("HEALTHCHECK", [])
    if len(hc) != 1:
        errs.append(f"{path}: want exactly one HEALTHCHECK in the final stage, found {len(hc)}")
    else:
        ln, rest = hc[0]
        cmd = rest[rest.find("CMD") + 3:].strip() if "CMD" in rest else ""
        if "/healthz" not in cmd or exec_form(cmd) is None:
            errs.append(f"{path}:{ln}: HEALTHCHECK must probe /healthz in exec form")
    if not any(re.search(r"(^|\s)8080(/tcp)?(\s|$)", r) for _, r in kws.get("EXPOSE", [])):
        errs.append(f"{path}: final stage must EXPOSE 8080")
    if not any("ENLARGER_LISTEN=0.0.0.0:8080" in r for _, r in kws.get("ENV", [])):
        errs.append(f"{path}: final stage must set ENV ENLARGER_LISTEN=0.0.0.0:8080")
    return errs


def env_pairs(rest):
    words = shlex.split(rest)
    if words and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    return dict(w.split("=", 1) for w in words)


def replay(path, root, context, build_root):
    st = stages(parse(path))
    final = st[-1][3]
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root"}
    user, workdir = "0:0", "/"
    config = {}
    for ln, kw, rest in final:
        if kw == "COPY":
            words = shlex.split(rest)
            src_root = context
            opts = [w for w in words if w.startswith("--")]
            words = [w for w in words if not w.startswith("--")]
            for o in opts:
                if o.startswith("--from="):
                    src_root = build_root
            *srcs, dst = words
            for s in srcs:
                src = os.path.join(src_root, s.lstrip("/"))
                target = os.path.join(root, dst.lstrip("/"))
                if dst.endswith("/"):
                    target = os.path.join(target, os.path.basename(s))
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if os.path.isdir(src):
                    shutil.copytree(src, target, dirs_exist_ok=True)
                else:
                    shutil.copy2(src, target)
            print(f"replay:{ln}: COPY {rest}", file=sys.stderr)
        elif kw == "RUN":
            print(f"replay:{ln}: RUN {rest}", file=sys.stderr)
            cmd = ["chroot", f"--userspec={user}", root, "/usr/bin/env", "-i"]
            cmd += [f"{k}={v}" for k, v in env.items()]
            cmd += ["/bin/sh", "-c", f"cd {shlex.quote(workdir)} && {rest}"]
            subprocess.run(cmd, check=True, stdout=sys.stderr)
        elif kw == "ENV":
            env.update(env_pairs(rest))
        elif kw == "USER":
            user = rest if ":" in rest else f"{rest}:{rest}"
        elif kw == "WORKDIR":
            workdir = rest
            os.makedirs(os.path.join(root, rest.lstrip("/")), exist_ok=True)
        elif kw in ("ENTRYPOINT", "CMD"):
            config[kw.lower()] = exec_form(rest)
        elif kw == "HEALTHCHECK":
            config["healthcheck"] = exec_form(rest[rest.find("CMD") + 3:].strip())
        elif kw == "EXPOSE":
            config.setdefault("expose", []).extend(rest.split())
    config.update({"user": user, "workdir": workdir, "env": env})
    print(json.dumps(config))


def main(argv):
    if len(argv) >= 3 and argv[1] == "policy":
        errs = policy(argv[2])
        for e in errs:
            print(e)
        return 1 if errs else 0
    if len(argv) == 6 and argv[1] == "replay":
        replay(*argv[2:])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
