import { packageConfig } from '../../tsup.base';

// Split: `hookline/testing` imports the same core chunk as `hookline` (per format) instead of bundling its own copy.
export default packageConfig({ entry: ['src/index.ts', 'src/testing.ts'], splitting: true });
