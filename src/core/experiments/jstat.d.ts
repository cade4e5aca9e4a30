// jstat ships no type declarations; this is the part of its API that stats.ts uses.
declare module 'jstat' {
  interface Distribution {
    cdf(x: number, ...params: number[]): number;
    inv(p: number, ...params: number[]): number;
  }
  const jStat: { normal: Distribution; studentt: Distribution };
  export default jStat;
}
