// `npm run build:blender [-- OUT_DIR]`: the Blender add-on as a zip (dist/render_bitwrk-VERSION.zip),
// which Blender installs from Edit > Preferences > Add-ons > Install (3.4 and later) or, from 4.2 on,
// also as an extension (it carries blender_manifest.toml). The version comes from bl_info.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { zipSync } from 'fflate';

export const ADDON_DIR = fileURLToPath(new URL('../blender/render_bitwrk/', import.meta.url));

/** Zips the add-on's sources (no caches) under its folder name; returns the zip's path. */
export function buildBlenderAddon(outDir: string): string {
  const files: Record<string, Uint8Array> = {};
  for (const name of readdirSync(ADDON_DIR).sort()) {
    if (name.endsWith('.py') || name === 'blender_manifest.toml') files[`render_bitwrk/${name}`] = readFileSync(join(ADDON_DIR, name));
  }
  const version = /'version': \((\d+), (\d+), (\d+)\)/.exec(readFileSync(join(ADDON_DIR, '__init__.py'), 'utf8'));
  if (version === null) throw new Error('render_bitwrk/__init__.py has no bl_info version');
  mkdirSync(outDir, { recursive: true });
  const path = join(outDir, `render_bitwrk-${version.slice(1).join('.')}.zip`);
  // A fixed date: the same sources give the same zip.
  writeFileSync(path, zipSync(files, { level: 9, mtime: new Date('2026-01-01T00:00:00Z') }));
  return path;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outDir = resolve(process.argv[2] ?? 'dist');
  console.log(`wrote ${buildBlenderAddon(outDir)}`);
}
