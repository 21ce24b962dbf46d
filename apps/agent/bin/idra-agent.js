#!/usr/bin/env -S node --max-semi-space-size=32 --max-old-space-size=192
// Heap settings: a larger young generation lets batches die young instead of being promoted, and the
// old-generation cap makes V8 collect before the process grows past ~200 MB. An agent running many
// syncs with large batches needs about two batches of memory per running sync: raise the cap then
// (NODE_OPTIONS=--max-old-space-size=<MB>, see docs/operations.md).
import '../src/main.ts';
