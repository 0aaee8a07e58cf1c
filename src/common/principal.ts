export type Role = 'reader' | 'member' | 'admin';

/** Who is calling: a user acting in one project with a role there (ARCHITECTURE §2). */
export interface Principal {
  user: string;
  project: string;
  role: Role;
  /** Admins act across projects (see every artifact, publish, force deletes). */
  isAdmin: boolean;
}
