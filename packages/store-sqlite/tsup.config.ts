import { packageConfig } from '../../tsup.base';

// shims: the CJS build gets an import.meta.url (the checkpoint thread resolves better-sqlite3 from this module).
export default packageConfig({ shims: true });
