/** A body that must carry no fields (whitelist + forbidNonWhitelisted refuse any). */
export class EmptyDto {}
