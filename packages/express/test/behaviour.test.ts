import { runBehaviourSuite } from './behaviour-suite.js';
import { startExpress } from './server.js';

runBehaviourSuite('express', startExpress);
