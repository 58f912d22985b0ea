import { startExpress } from './server.js';
import { runTranslationSuite } from './translation-suite.js';

runTranslationSuite('express', startExpress);
