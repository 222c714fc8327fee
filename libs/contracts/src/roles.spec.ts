import { servesAny } from './roles';

it('an unrestricted item is for everyone; a restricted one for those serving one of its roles', () => {
  expect(servesAny([], undefined)).toBe(true);
  expect(servesAny([], [])).toBe(true);
  expect(servesAny(['cashier'], ['cashier', 'stock'])).toBe(true);
  expect(servesAny(['sales', 'stock'], ['stock'])).toBe(true);
  expect(servesAny(['sales'], ['cashier', 'stock'])).toBe(false);
  // A shared tablet (no roles) sees no restricted item.
  expect(servesAny([], ['cashier'])).toBe(false);
});
