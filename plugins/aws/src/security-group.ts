// A resource's security group: made empty (AWS's default egress rule revoked,
// so deny-all), and brought to exactly the atoms of its permit list in at most
// one call per kind of change and direction (authorize ingress, authorize
// egress, modify descriptions, revoke ingress, revoke egress), never half-applied.
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  type EC2Client,
  ModifySecurityGroupRulesCommand,
  paginateDescribeSecurityGroupRules,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { quotaExceeded } from '@skyway/plugin-sdk';
import { isCode, isNotFound } from './errors.js';
import { type Atom, describeAtom, fromAws, type LiveAtom, permissionKey, toIpPermissions } from './rules.js';
import { type Owner, ownerFilters, TAG, tagSpec } from './tags.js';

export const QUOTA_NAME = 'Inbound or outbound rules per security group';

/** Makes (or finds, after a crash half way) the empty group of one resource. */
export async function ensureGroup(
  ec2: EC2Client,
  owner: Owner,
  vpcId: string,
  namespace: string,
  name: string,
): Promise<string> {
  const groupName = `skyway-${namespace}-${name}`.slice(0, 255);
  let id: string | undefined;
  try {
    const res = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: groupName,
        Description: `Skyway resource ${name} of namespace ${namespace}: deny all but its permit list`,
        VpcId: vpcId,
        TagSpecifications: [
          tagSpec('security-group', owner, {
            [TAG.namespace]: namespace,
            [TAG.name]: name,
            [TAG.role]: 'security-group',
          }),
        ],
      }),
    );
    id = res.GroupId!;
  } catch (e) {
    if (!isCode(e, 'InvalidGroup.Duplicate')) throw e;
    // left by an attempt that crashed half way: take it over
    const found = await ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [
          { Name: 'vpc-id', Values: [vpcId] },
          { Name: 'group-name', Values: [groupName] },
          ...ownerFilters(owner),
        ],
      }),
    );
    id = found.SecurityGroups?.[0]?.GroupId;
    if (!id) throw e;
  }
  // A new group allows all egress; Skyway's groups start with no rule at all.
  await ec2
    .send(
      new RevokeSecurityGroupEgressCommand({
        GroupId: id,
        IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
      }),
    )
    .catch((e) => {
      if (!isCode(e, 'InvalidPermission.NotFound')) throw e;
    });
  return id;
}

export async function deleteGroup(ec2: EC2Client, groupId: string): Promise<void> {
  await ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId })).catch((e) => {
    if (!isNotFound(e)) throw e;
  });
}

/** Every rule of a group as AWS holds it. */
export async function readGroup(
  ec2: EC2Client,
  groupId: string,
): Promise<{ atoms: LiveAtom[]; raw: SecurityGroupRule[] }> {
  const raw: SecurityGroupRule[] = [];
  for await (const page of paginateDescribeSecurityGroupRules(
    { client: ec2 },
    { Filters: [{ Name: 'group-id', Values: [groupId] }] },
  )) {
    raw.push(...(page.SecurityGroupRules ?? []));
  }
  return { atoms: raw.map((r) => fromAws(r)!).filter(Boolean), raw };
}

export interface Plan {
  add: Atom[];
  modify: { id: string; atom: Atom }[];
  revoke: LiveAtom[];
}

/** What turns `live` into `desired`: AWS compares rules by permission, so a changed description is a modify. */
export function planGroup(live: LiveAtom[], desired: Map<string, Atom>): Plan {
  const plan: Plan = { add: [], modify: [], revoke: [] };
  const kept = new Set<string>();
  for (const a of live) {
    const k = permissionKey(a);
    const want = a.cidr ? desired.get(k) : undefined;
    if (!want || kept.has(k)) {
      plan.revoke.push(a);
      continue;
    }
    kept.add(k);
    if (a.description !== describeAtom(want)) plan.modify.push({ id: a.id, atom: want });
  }
  for (const [k, a] of desired) if (!kept.has(k)) plan.add.push(a);
  return plan;
}

const count = (atoms: { egress: boolean }[], egress: boolean) =>
  atoms.filter((a) => a.egress === egress).length;

/** Applies a plan; refuses it whole (QUOTA_EXCEEDED naming the quota) when a direction would exceed `limit`. */
export async function applyPlan(
  ec2: EC2Client,
  owner: Owner,
  groupId: string,
  live: LiveAtom[],
  desired: Map<string, Atom>,
  limit: number,
): Promise<Plan> {
  const plan = planGroup(live, desired);
  const final = [...desired.values()];
  for (const egress of [false, true]) {
    const n = count(final, egress);
    if (n > limit) {
      throw quotaExceeded(
        `security group ${groupId} would need ${n} ${egress ? 'outbound' : 'inbound'} rules (one per target CIDR); AWS's quota "${QUOTA_NAME}" is ${limit} here. Nothing was changed: use fewer targets (wider CIDRs, fewer tag members) or raise the quota in Service Quotas and set rules_per_group.`,
        'rules',
      );
    }
  }
  const revoke = async (atoms: LiveAtom[]) => {
    for (const egress of [false, true]) {
      const ids = atoms.filter((a) => a.egress === egress).map((a) => a.id);
      if (!ids.length) continue;
      const input = { GroupId: groupId, SecurityGroupRuleIds: ids };
      if (egress) await ec2.send(new RevokeSecurityGroupEgressCommand(input));
      else await ec2.send(new RevokeSecurityGroupIngressCommand(input));
    }
  };
  const added: string[] = [];
  const add = async (atoms: Atom[]) => {
    for (const egress of [false, true]) {
      const these = atoms.filter((a) => a.egress === egress);
      if (!these.length) continue;
      const input = {
        GroupId: groupId,
        IpPermissions: toIpPermissions(these),
        TagSpecifications: [tagSpec('security-group-rule', owner, { [TAG.role]: 'rule' })],
      };
      try {
        const res = egress
          ? await ec2.send(new AuthorizeSecurityGroupEgressCommand(input))
          : await ec2.send(new AuthorizeSecurityGroupIngressCommand(input));
        added.push(...(res.SecurityGroupRules ?? []).map((r) => r.SecurityGroupRuleId!).filter(Boolean));
      } catch (e) {
        if (isCode(e, 'RulesPerSecurityGroupLimitExceeded')) {
          throw quotaExceeded(
            `AWS refused more rules on security group ${groupId}: quota "${QUOTA_NAME}" (set rules_per_group to the account's value). Nothing was changed.`,
            'rules',
          );
        }
        throw e;
      }
    }
  };
  const undoAdds = async () => {
    const undo = (await readGroup(ec2, groupId)).atoms.filter((a) => added.includes(a.id));
    await revoke(undo).catch(() => {});
  };
  // Room for the new rules before the old ones go? Then add first, so nothing allowed is ever missing.
  const room = [false, true].every((egress) => count(live, egress) + count(plan.add, egress) <= limit);
  try {
    if (room) {
      await add(plan.add);
      if (plan.modify.length) await modify(ec2, groupId, plan.modify);
      await revoke(plan.revoke);
    } else {
      await revoke(plan.revoke);
      if (plan.modify.length) await modify(ec2, groupId, plan.modify);
      await add(plan.add);
    }
  } catch (e) {
    // best effort back to where we started: what we added goes; what we revoked comes back
    await undoAdds();
    if (!room && plan.revoke.length) {
      await add(plan.revoke.filter((a) => a.cidr && a.owners.size)).catch(() => {});
    }
    throw e;
  }
  return plan;
}

async function modify(ec2: EC2Client, groupId: string, items: { id: string; atom: Atom }[]) {
  await ec2.send(
    new ModifySecurityGroupRulesCommand({
      GroupId: groupId,
      SecurityGroupRules: items.map(({ id, atom }) => ({
        SecurityGroupRuleId: id,
        SecurityGroupRule: {
          IpProtocol: atom.protocol,
          FromPort: atom.fromPort,
          ToPort: atom.toPort,
          CidrIpv4: atom.cidr,
          Description: describeAtom(atom),
        },
      })),
    }),
  );
}
