// ml-knn ships no type declarations; this is the part of its API that segments.ts uses.
declare module 'ml-knn' {
  export default class KNN {
    constructor(dataset: number[][], labels: number[], options?: { k?: number; distance?: (a: number[], b: number[]) => number });
    predict(point: number[]): number;
    predict(points: number[][]): number[];
  }
}
