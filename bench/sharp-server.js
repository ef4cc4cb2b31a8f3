'use strict';
// The sharp peer for bench/run.sh: a minimal Node server, the way AWS's Serverless Image
// Handler uses sharp, with enlarger's output settings. Not part of enlarger.
//
//   GET  /render/<key>?w=&fmt=webp|jpeg   originals from $SHARP_DATA_DIR/originals/<key>:
//        auto-orient, fit to width w, never enlarge; WebP q80 or progressive JPEG q82.
//        No cache: every request decodes (as a render-cache miss in enlarger does).
//   POST /process {"bucket":"originals","key":K}
//        the same four outputs enlarger's /process makes: 200x200 attention-cover thumbnail
//        and <=1920x1080 fit-inside, each WebP q80 + progressive JPEG q82, plus a metadata
//        read; writes them to $SHARP_OUT_DIR/<key>/{thumb,optimized}.{webp,jpg}.
//   GET  /healthz
//
// Env: SHARP_LISTEN=127.0.0.1:PORT, SHARP_DATA_DIR=DIR, SHARP_OUT_DIR=DIR.
// sharp runs with its defaults (concurrency, operation cache, UV_THREADPOOL_SIZE), which is
// what a user of sharp gets; bench/run.sh records them in docs/benchmarks.md.

const http = require('node:http');
const fs = require('node:fs/promises');
const path = require('node:path');
const sharp = require('sharp');

const listen = process.env.SHARP_LISTEN || '127.0.0.1:8081';
const dataDir = process.env.SHARP_DATA_DIR || './data';
const outDir = process.env.SHARP_OUT_DIR || path.join(dataDir, 'sharp-out');
const [host, portText] = listen.split(':');
const port = Number(portText);

const WEBP = { quality: 80 };
const JPEG = { quality: 82, progressive: true };
const MAX_WIDTH = 8192;

// A key is a relative path below originals/: no empty, "." or ".." segments.
function safeKey(key) {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1024) return null;
  const parts = key.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\0'))) return null;
  return key;
}

function send(res, status, type, body, extra) {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': body.length, ...extra });
  res.end(body);
}

function problem(res, status, detail) {
  send(res, status, 'application/problem+json', Buffer.from(JSON.stringify({ status, detail })));
}

async function readOriginal(key) {
  return fs.readFile(path.join(dataDir, 'originals', key));
}

async function render(req, res, url) {
  const key = safeKey(decodeURIComponent(url.pathname.slice('/render/'.length)));
  const w = Number(url.searchParams.get('w'));
  const fmt = url.searchParams.get('fmt') || 'webp';
  if (!key) return problem(res, 400, 'bad key');
  if (!Number.isInteger(w) || w < 1 || w > MAX_WIDTH) return problem(res, 400, 'bad w');
  if (fmt !== 'webp' && fmt !== 'jpeg') return problem(res, 400, 'bad fmt');
  let input;
  try {
    input = await readOriginal(key);
  } catch {
    return problem(res, 404, 'no such original');
  }
  let img = sharp(input).rotate().resize({ width: w, withoutEnlargement: true });
  img = fmt === 'webp' ? img.webp(WEBP) : img.jpeg(JPEG);
  const out = await img.toBuffer();
  send(res, 200, fmt === 'webp' ? 'image/webp' : 'image/jpeg', out, {
    'Cache-Control': 'public, max-age=31536000, immutable',
  });
}

async function readBody(req, limit) {
  const chunks = [];
  let n = 0;
  for await (const c of req) {
    n += c.length;
    if (n > limit) throw new Error('body too large');
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function processOne(req, res) {
  let key;
  try {
    const body = JSON.parse(await readBody(req, 1 << 20));
    key = safeKey(body.key);
  } catch {
    return problem(res, 400, 'bad body');
  }
  if (!key) return problem(res, 400, 'bad key');
  let input;
  try {
    input = await readOriginal(key);
  } catch {
    return problem(res, 404, 'no such original');
  }
  const base = sharp(input).rotate();
  const jobs = [
    ['thumb.webp', base.clone().resize(200, 200, { fit: 'cover', position: 'attention' }).webp(WEBP)],
    ['thumb.jpg', base.clone().resize(200, 200, { fit: 'cover', position: 'attention' }).jpeg(JPEG)],
    ['optimized.webp', base.clone().resize(1920, 1080, { fit: 'inside', withoutEnlargement: true }).webp(WEBP)],
    ['optimized.jpg', base.clone().resize(1920, 1080, { fit: 'inside', withoutEnlargement: true }).jpeg(JPEG)],
  ];
  const [meta, ...outs] = await Promise.all([
    sharp(input).metadata(),
    ...jobs.map(([, p]) => p.toBuffer({ resolveWithObject: true })),
  ]);
  const dir = path.join(outDir, key);
  await fs.mkdir(dir, { recursive: true });
  await Promise.all(outs.map((o, i) => fs.writeFile(path.join(dir, jobs[i][0]), o.data)));
  const upright = (meta.orientation || 1) >= 5;
  const result = {
    key,
    sourceFormat: meta.format,
    width: upright ? meta.height : meta.width,
    height: upright ? meta.width : meta.height,
    fileSize: input.length,
    hasExif: Boolean(meta.exif),
    outputs: outs.map((o, i) => ({
      name: jobs[i][0],
      width: o.info.width,
      height: o.info.height,
      bytes: o.info.size,
    })),
  };
  send(res, 200, 'application/json', Buffer.from(JSON.stringify(result)));
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  let p;
  if ((req.method === 'GET' || req.method === 'HEAD') && url.pathname.startsWith('/render/')) {
    p = render(req, res, url);
  } else if (req.method === 'POST' && url.pathname === '/process') {
    p = processOne(req, res);
  } else if (req.method === 'GET' && url.pathname === '/healthz') {
    p = Promise.resolve(send(res, 200, 'application/json', Buffer.from('{"status":"ok"}')));
  } else {
    p = Promise.resolve(problem(res, 404, 'no such route'));
  }
  p.catch((err) => {
    if (!res.headersSent) problem(res, 500, String(err && err.message));
    else res.destroy();
  });
});
server.keepAliveTimeout = 65000;
server.listen(port, host, () => {
  const v = sharp.versions;
  process.stdout.write(
    JSON.stringify({
      msg: 'listening',
      listen,
      sharp: v.sharp,
      libvips: v.vips,
      libwebp: v.webp,
      mozjpeg: v.mozjpeg,
      concurrency: sharp.concurrency(),
      cache: sharp.cache(),
      uvThreadpool: process.env.UV_THREADPOOL_SIZE || '4 (default)',
    }) + '\n',
  );
});
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => server.close(() => process.exit(0)));
