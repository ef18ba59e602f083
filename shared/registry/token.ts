// The function's Google access token for Artifact Registry's Docker API (Application Default
// Credentials; on Cloud Functions, the metadata server's token of deploy-green's service account).
// One GoogleAuth per process; the library refreshes the token before it expires.
import { auth as googleAuth } from 'googleapis/build/src/apis/monitoring/index.js';

let client: InstanceType<typeof googleAuth.GoogleAuth> | undefined;

export async function registryToken(): Promise<string> {
  client ??= new googleAuth.GoogleAuth({
    scopes: ['https://www.googleapis.com/auth/cloud-platform.read-only'],
  });
  const token = await client.getAccessToken();
  if (!token)
    throw new Error('no Google access token for the registry: Application Default Credentials gave none');
  return token;
}
