// An OAuth access token of the function's Google identity (Application Default Credentials), for
// Google endpoints (Managed Prometheus, Cloud Monitoring). One GoogleAuth per process; the library
// refreshes the token before it expires.
import { auth as googleAuth } from 'googleapis/build/src/apis/monitoring/index.js';

let client: InstanceType<typeof googleAuth.GoogleAuth> | undefined;

export async function googleAuthToken(): Promise<string> {
  client ??= new googleAuth.GoogleAuth({ scopes: ['https://www.googleapis.com/auth/monitoring.read'] });
  const token = await client.getAccessToken();
  if (!token) throw new Error('no Google access token: Application Default Credentials gave none');
  return token;
}
