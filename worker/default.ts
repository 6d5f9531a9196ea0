/** The worker `openStore` starts when no `worker` factory is given. */
import { serve } from './index.ts';

serve();
