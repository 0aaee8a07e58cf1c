export type Role = 'reader' | 'member' | 'admin';

/** Who is calling: a user acting in one project with a role there (ARCHITECTURE §2). */
export interface Principal {
  user: string;
  project: string;
  role: Role;
  /** Admins act across projects (see every artifact, publish, force deletes). */
  isAdmin: boolean;
}

const RANK: Record<Role, number> = { reader: 0, member: 1, admin: 2 };

export const isRole = (r: unknown): r is Role => typeof r === 'string' && r in RANK;

export function highestRole(roles: Role[]): Role {
  return roles.reduce<Role>((best, r) => (RANK[r] > RANK[best] ? r : best), 'reader');
}
