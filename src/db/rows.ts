import type { Budget, Category, Expense, Participant, Role, User } from '@budget-sync/protocol';

/** Database rows as `postgres` returns them (int8 as number, numeric as string, date as string). */
export interface BudgetRow {
  id: string;
  title: string;
  details: string | null;
  owner_id: string;
  created_by: string;
  version: number;
  last_sequence: number;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
}
export interface CategoryRow {
  id: string;
  budget_id: string;
  name: string;
  allocate: string;
  created_by: string;
  version: number;
  deleted: boolean;
  created_at: number;
  updated_at: number;
}
export interface ExpenseRow {
  id: string;
  budget_id: string;
  category_id: string;
  date: string;
  amount: string;
  note: string | null;
  created_by: string;
  version: number;
  deleted: boolean;
  created_at: number;
  updated_at: number;
}
export interface ParticipantRow {
  budget_id: string;
  user_id: string;
  role: Role;
  joined_at: number;
  first_name: string | null;
  last_name: string | null;
  photo: string | null;
}
export interface UserRow {
  id: string;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  photo: string | null;
  photo_key: string | null;
  created_at: number;
  updated_at: number;
}

export const toBudget = (r: BudgetRow): Budget => ({
  id: r.id,
  title: r.title,
  details: r.details,
  ownerId: r.owner_id,
  createdBy: r.created_by,
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toCategory = (r: CategoryRow): Category => ({
  id: r.id,
  budgetId: r.budget_id,
  name: r.name,
  allocate: r.allocate,
  createdBy: r.created_by,
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toExpense = (r: ExpenseRow): Expense => ({
  id: r.id,
  budgetId: r.budget_id,
  categoryId: r.category_id,
  date: r.date,
  amount: r.amount,
  note: r.note,
  createdBy: r.created_by,
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toParticipant = (r: ParticipantRow): Participant => ({
  userId: r.user_id,
  budgetId: r.budget_id,
  role: r.role,
  joinedAt: r.joined_at,
  firstName: r.first_name ?? null,
  lastName: r.last_name ?? null,
  photo: r.photo ?? null,
});

export const toUser = (r: UserRow): User => ({
  id: r.id,
  email: r.email,
  firstName: r.first_name,
  lastName: r.last_name,
  photo: r.photo,
});
