// Builds Tiski's front-ends into web/dist, which the Go binary embeds:
//   widget.js              the loader shops embed (stable name, tiny)
//   assets/NAME-HASH.js    everything else, content-hashed and cached forever
//   manifest.json          logical name → file, read by the server
// Prints each output's gzipped size; the size budgets are asserted by tests.
import * as esbuild from 'esbuild';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, 'dist');

// Each front-end declares its entry points here; missing ones are skipped
// so that one can be built before the other exists.
const entries = [
  { name: 'widget.js', src: 'widget/loader.ts', stable: true },
  { name: 'widget-app.js', src: 'widget/app.ts' },
  { name: 'widget-frame.css', src: 'widget/frame.css' },
  // The console is used by a shop's staff on current browsers; esbuild
  // cannot lower destructuring for Safari 14, which the widget supports.
  { name: 'console.js', src: 'console/main.tsx', target: ['es2020', 'chrome100', 'firefox100', 'safari15'] },
  { name: 'console.css', src: 'console/console.css', target: ['chrome100', 'firefox100', 'safari15'] },
];

const common = {
  bundle: true,
  minify: true,
  legalComments: 'none',
  target: ['es2020', 'chrome90', 'firefox90', 'safari14'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
};

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'assets'), { recursive: true });
writeFileSync(join(dist, '.gitkeep'), '');

const manifest = {};
for (const e of entries) {
  const src = join(root, e.src);
  if (!existsSync(src)) continue;
  const isCSS = e.src.endsWith('.css');
  const base = e.name.replace(/\.(js|css)$/, '');
  const result = await esbuild.build({
    ...common,
    ...(e.target ? { target: e.target } : {}),
    entryPoints: { [base]: src },
    outdir: e.stable ? dist : join(dist, 'assets'),
    entryNames: e.stable ? '[name]' : '[name]-[hash]',
    format: isCSS ? undefined : 'iife',
    metafile: true,
    write: true,
  });
  for (const out of Object.keys(result.metafile.outputs)) {
    if (out.endsWith('.map')) continue;
    const rel = relative(dist, out).split('\\').join('/');
    if (rel.endsWith(isCSS ? '.css' : '.js')) manifest[e.name] = rel;
  }
}
writeFileSync(join(dist, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');

const sizes = {};
const walk = (dir) => {
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, f.name);
    if (f.isDirectory()) walk(p);
    else if (/\.(js|css)$/.test(f.name)) {
      const raw = readFileSync(p);
      sizes[relative(dist, p)] = { bytes: raw.length, gzip: gzipSync(raw, { level: 9 }).length };
    }
  }
};
walk(dist);
for (const [f, s] of Object.entries(sizes)) {
  console.log(`${f.padEnd(40)} ${String(s.bytes).padStart(8)} B  ${String(s.gzip).padStart(7)} B gzip`);
}
