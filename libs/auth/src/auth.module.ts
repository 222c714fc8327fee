import { createSecretKey } from 'node:crypto';
import { type DynamicModule, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { AuthGuard } from './roles.guard';

/** JWT (HS256) verification as a global guard; see AuthGuard. */
@Module({})
export class AuthModule {
  static forRoot(secret: string): DynamicModule {
    return {
      module: AuthModule,
      global: true,
      imports: [
        JwtModule.register({
          // A KeyObject, not the string: jsonwebtoken otherwise tries to parse the secret
          // as a public key on every verify (and throws, and catches) before using it as
          // an HMAC key; that was 10% of the gateway's CPU in a connect storm.
          secret: createSecretKey(Buffer.from(secret, 'utf8')),
          signOptions: { algorithm: 'HS256', issuer: 'lastmeter' },
        }),
      ],
      providers: [{ provide: APP_GUARD, useClass: AuthGuard }],
      exports: [JwtModule],
    };
  }
}
