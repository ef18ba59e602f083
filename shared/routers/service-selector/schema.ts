// Configuration of the `service-selector` traffic router (trafficRouting "none", SPEC §5): nothing
// to configure; the weight is approximated by the replica ratio of the two revisions behind the
// stable Service.
import { z } from 'zod';

export const serviceSelectorConfigSchema = z.strictObject({});

/** A parsed service-selector router configuration (always empty). */
export type ServiceSelectorConfig = z.infer<typeof serviceSelectorConfigSchema>;
