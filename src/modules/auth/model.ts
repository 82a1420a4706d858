// Request and response schemas of the auth routes; types derive from them.
import { t } from 'elysia'

export const Role = t.Union([t.Literal('customer'), t.Literal('admin')])

export const PublicUser = t.Object({
  id: t.String({ format: 'uuid' }),
  email: t.String(),
  name: t.String(),
  role: Role,
  createdAt: t.String({ format: 'date-time' }),
})
export type PublicUser = typeof PublicUser.static

export const PASSWORD_MIN = 10
export const PASSWORD_MAX = 128
const passwordRule = `${PASSWORD_MIN}–${PASSWORD_MAX} characters from at least two classes (lower case, upper case, digits, other)`

export const RegisterBody = t.Object({
  email: t.String({ maxLength: 254, description: 'trimmed and lower-cased; must be unique', examples: ['ada@example.com'] }),
  password: t.String({ description: passwordRule, examples: ['correct-horse-7'] }),
  name: t.String({ minLength: 1, maxLength: 100, examples: ['Ada Lovelace'] }),
})
export type RegisterBody = typeof RegisterBody.static

export const LoginBody = t.Object({
  email: t.String({ maxLength: 254 }),
  password: t.String({ maxLength: 1024 }),
})
export type LoginBody = typeof LoginBody.static

export const RefreshBody = t.Object({
  refreshToken: t.String({ minLength: 1, maxLength: 256, description: 'opaque token from register/login/refresh' }),
})

export const TokenPair = t.Object({
  user: PublicUser,
  accessToken: t.String({ description: 'JWT (HS256), send as Authorization: Bearer' }),
  refreshToken: t.String({ description: 'opaque; single use — each refresh returns a new one' }),
  tokenType: t.Literal('Bearer'),
  expiresIn: t.Integer({ description: 'access token lifetime in seconds' }),
})

export const ChangePasswordBody = t.Object({
  currentPassword: t.String({ minLength: 1, maxLength: 1024 }),
  newPassword: t.String({ description: passwordRule, examples: ['another-horse-8'] }),
})

export const PasswordResetBody = t.Object({
  email: t.String({ maxLength: 254, examples: ['ada@example.com'] }),
})

export const PasswordResetConfirmBody = t.Object({
  token: t.String({ minLength: 1, maxLength: 256, description: 'the code from the reset email' }),
  newPassword: t.String({ description: passwordRule, examples: ['another-horse-8'] }),
})
