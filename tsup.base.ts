import { defineConfig, type Options } from 'tsup';

/** Every package builds the same way: ESM + CJS + .d.ts from src/index.ts (plus any extra entries). */
export function packageConfig(extra: Partial<Options> = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    clean: true,
    sourcemap: true,
    target: 'node20',
    splitting: false,
    ...extra,
  });
}
