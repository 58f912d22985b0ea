import { packageConfig } from '../../tsup.base';

export default packageConfig({ entry: ['src/index.ts', 'src/cli.ts'], format: ['esm'] });
