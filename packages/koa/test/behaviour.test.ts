import { runBehaviourSuite } from '../../express/test/behaviour-suite.js';
import { startKoa } from './server.js';

runBehaviourSuite('koa', startKoa);
