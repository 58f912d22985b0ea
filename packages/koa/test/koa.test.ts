import { runTranslationSuite } from '../../express/test/translation-suite.js';
import { startKoa } from './server.js';

runTranslationSuite('koa', startKoa);
