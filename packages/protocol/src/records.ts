/** Wire shapes of the records (docs/protocol.md "Records"). Money is a 2-decimal string. */
export interface Budget {
  id: string;
  title: string;
  details: string | null;
  ownerId: string;
  createdBy: string;
  version: number;
  createdAt: number;
  updatedAt: number;
}

export interface Category {
  id: string;
  budgetId: string;
  name: string;
  allocate: string;
  createdBy: string;
  version: number;
  createdAt: number;
  updatedAt: number;
}

export interface Expense {
  id: string;
  budgetId: string;
  categoryId: string;
  date: string;
  amount: string;
  note: string | null;
  createdBy: string;
  version: number;
  createdAt: number;
  updatedAt: number;
}

export type Role = 'owner' | 'member';

export interface Participant {
  userId: string;
  budgetId: string;
  role: Role;
  joinedAt: number;
  firstName: string | null;
  lastName: string | null;
  photo: string | null;
}

export interface User {
  id: string;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  photo: string | null;
}

export type PublicProfile = Omit<User, 'email'>;

export type AnyRecord = Budget | Category | Expense | Participant;

/** `GET /budgets/:id/snapshot`: one consistent read; the stream goes on from `lastSequence`. */
export interface Snapshot {
  budget: Budget;
  participants: Participant[];
  categories: Category[];
  expenses: Expense[];
  lastSequence: number;
}
