// One EC2 client per region and one STS client, built the SDK's way: the
// default credential provider chain (environment, shared profile, SSO, instance
// role; `profile` picks one), adaptive retries for throttling
// (RequestLimitExceeded, Throttling), and `endpoint` for AWS-compatible clouds.
import { EC2Client } from '@aws-sdk/client-ec2';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsConfig } from './config.js';

export class AwsClients {
  private readonly ec2s = new Map<string, EC2Client>();
  private stsClient?: STSClient;

  constructor(private readonly cfg: AwsConfig) {}

  private common(region: string) {
    return {
      region,
      maxAttempts: this.cfg.maxAttempts,
      retryMode: 'adaptive',
      ...(this.cfg.profile ? { profile: this.cfg.profile } : {}),
      ...(this.cfg.endpoint ? { endpoint: this.cfg.endpoint } : {}),
    };
  }

  ec2(region: string): EC2Client {
    let c = this.ec2s.get(region);
    if (!c) {
      c = new EC2Client(this.common(region));
      this.ec2s.set(region, c);
    }
    return c;
  }

  sts(): STSClient {
    this.stsClient ??= new STSClient(this.common(this.cfg.regions[0]!));
    return this.stsClient;
  }

  close(): void {
    for (const c of this.ec2s.values()) c.destroy();
    this.stsClient?.destroy();
  }
}
