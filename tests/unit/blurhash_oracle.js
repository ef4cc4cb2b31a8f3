// The reference BlurHash encoder (npm blurhash, tests/node_modules) on raw RGBA pixels.
//   node blurhash_oracle.js PIXELS.rgba WIDTH HEIGHT CX CY   -> prints the hash
"use strict";
const fs = require("fs");
const { encode } = require("blurhash");

const [file, w, h, cx, cy] = process.argv.slice(2);
const px = new Uint8ClampedArray(fs.readFileSync(file));
process.stdout.write(encode(px, Number(w), Number(h), Number(cx), Number(cy)) + "\n");
