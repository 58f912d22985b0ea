import { runTranslationSuite } from '../../express/test/translation-suite.js';
import { startNest } from './server.js';

runTranslationSuite('nestjs', startNest);
