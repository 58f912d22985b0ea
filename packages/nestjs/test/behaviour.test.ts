import { runBehaviourSuite } from '../../express/test/behaviour-suite.js';
import { startNest } from './server.js';

runBehaviourSuite('nestjs', startNest);
