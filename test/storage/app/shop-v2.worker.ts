/** A Cairn worker with the test projections, version set 'shop-v2'. */
import { serve } from '../../../worker/index.ts';
import { projectionSet, TEST_REBUILD_BATCH } from '../../contract/test-projections.ts';

serve({ projections: projectionSet('shop-v2'), rebuildBatchSize: TEST_REBUILD_BATCH });
