/** A Cairn worker with the test projections, version set 'shop-v1'. */
import { serve } from '../../../worker/index.ts';
import { projectionSet, TEST_REBUILD_BATCH } from '../../contract/test-projections.ts';

serve({ projections: projectionSet('shop-v1'), rebuildBatchSize: TEST_REBUILD_BATCH });
