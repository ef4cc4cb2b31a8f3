#!/usr/bin/env python3
"""The shell commands of a Markdown page, for CI to run exactly as written.

Every ```sh block of the page must sit right under one of these markers:
    <!-- ci: runs as written -->        CI runs it, literally, in a fresh copy of the tree
    <!-- ci: needs an AWS account -->   CI does not run it (it deploys, or calls AWS)
An unmarked block fails the check, so a new command cannot slip past CI unnoticed. And each
`cdk deploy` in a block that needs an account must carry exactly the context (-c ...) of a
`cdk synth` that runs, so the documented deploy is known to get through synthesis and cdk-nag.

    doc-commands.py check  PAGE   the rules above; exit 1 with one line per problem
    doc-commands.py script PAGE   the runnable blocks as one bash script, in page order
"""
import shlex
import sys

RUN = "<!-- ci: runs as written -->"
NEEDS_AWS = "<!-- ci: needs an AWS account -->"


def blocks(path):
    """[(line, marker or None, text)] for every ```sh block."""
    out = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i].strip() in ("```sh", "```bash", "```shell"):
            start = i
            prev = lines[i - 1].strip() if i > 0 else ""
            marker = prev if prev in (RUN, NEEDS_AWS) else None
            i += 1
            body = []
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            out.append((start + 1, marker, "\n".join(body)))
        i += 1
    return out


def commands(text):
    """Each command of a block as words: continuation lines joined, comments dropped."""
    out = []
    for line in text.replace("\\\n", " ").split("\n"):
        words = shlex.split(line, comments=True)
        if words:
            out.append(words)
    return out


def cdk_args(words, verb):
    """The arguments of `npx cdk <verb> ...` after the verb, options like --all dropped, or None."""
    if words[:3] != ["npx", "cdk", verb]:
        return None
    rest = words[3:]
    args, i = [], 0
    while i < len(rest):
        if rest[i] == "-c" and i + 1 < len(rest):
            args.append(("-c", rest[i + 1]))
            i += 2
        else:
            i += 1
    return sorted(args)


def check(path):
    errs = []
    bs = blocks(path)
    synths = []
    for line, marker, text in bs:
        if marker is None:
            errs.append(f"{path}:{line}: sh block without a CI marker ({RUN!r} or {NEEDS_AWS!r} on the line above)")
        if marker == RUN:
            synths += [a for a in (cdk_args(w, "synth") for w in commands(text)) if a is not None]
    if not any(m == RUN for _, m, _ in bs):
        errs.append(f"{path}: no block runs in CI")
    for line, marker, text in bs:
        if marker != NEEDS_AWS:
            continue
        for w in commands(text):
            a = cdk_args(w, "deploy")
            if a is not None and a not in synths:
                errs.append(f"{path}:{line}: `{' '.join(w)}` has context that no CI-run `npx cdk synth` has: {a}")
    return errs


def main(argv):
    if len(argv) == 3 and argv[1] == "check":
        errs = check(argv[2])
        for e in errs:
            print(e)
        return 1 if errs else 0
    if len(argv) == 3 and argv[1] == "script":
        parts = [f"# {argv[2]}:{line}\n{text}\n" for line, marker, text in blocks(argv[2]) if marker == RUN]
        sys.stdout.write("".join(parts))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
