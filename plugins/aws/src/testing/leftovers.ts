// Every live object carrying Skyway's ownership marker in one region, read
// straight from the endpoint: what cleanup must leave empty.
import {
  DescribeCustomerGatewaysCommand,
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcPeeringConnectionsCommand,
  DescribeVpcsCommand,
  DescribeVpnConnectionsCommand,
  DescribeVpnGatewaysCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { TAG } from '../tags.js';

export async function leftovers(ec2: EC2Client): Promise<string[]> {
  const Filters = [{ Name: `tag-key`, Values: [TAG.managedBy] }];
  const live = (s?: string) =>
    !['deleted', 'deleting', 'terminated', 'shutting-down', 'rejected', 'failed'].includes(s ?? '');
  const out: string[] = [];
  const insts = await ec2.send(new DescribeInstancesCommand({ Filters }));
  for (const r of insts.Reservations ?? [])
    for (const i of r.Instances ?? []) if (live(i.State?.Name)) out.push(i.InstanceId!);
  for (const v of (await ec2.send(new DescribeVpcsCommand({ Filters }))).Vpcs ?? []) out.push(v.VpcId!);
  for (const s of (await ec2.send(new DescribeSubnetsCommand({ Filters }))).Subnets ?? [])
    out.push(s.SubnetId!);
  for (const g of (await ec2.send(new DescribeSecurityGroupsCommand({ Filters }))).SecurityGroups ?? [])
    out.push(g.GroupId!);
  for (const g of (await ec2.send(new DescribeVpnGatewaysCommand({ Filters }))).VpnGateways ?? [])
    if (live(g.State)) out.push(g.VpnGatewayId!);
  for (const g of (await ec2.send(new DescribeCustomerGatewaysCommand({ Filters }))).CustomerGateways ?? [])
    if (live(g.State)) out.push(g.CustomerGatewayId!);
  for (const c of (await ec2.send(new DescribeVpnConnectionsCommand({ Filters }))).VpnConnections ?? [])
    if (live(c.State)) out.push(c.VpnConnectionId!);
  for (const p of (await ec2.send(new DescribeVpcPeeringConnectionsCommand({ Filters })))
    .VpcPeeringConnections ?? [])
    if (live(p.Status?.Code)) out.push(p.VpcPeeringConnectionId!);
  return out;
}
