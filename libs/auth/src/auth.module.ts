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
      imports: [JwtModule.register({ secret, signOptions: { algorithm: 'HS256', issuer: 'lastmeter' } })],
      providers: [{ provide: APP_GUARD, useClass: AuthGuard }],
      exports: [JwtModule],
    };
  }
}
