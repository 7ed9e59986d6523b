/**
 * torch.topk(k, sorted=False) on the CPU, reproducing the order PyTorch returns (HF's instance
 * post-processing numbers instances in that order). ATen's CPU top-k puts (value, index) pairs
 * in a vector and, with largest = True, runs std::partial_sort when k * 64 <= n, else
 * std::nth_element, with "greater" as the comparison (NaN counts as largest); the first k pairs
 * are the result. Below are libstdc++'s algorithms, step for step, so the order matches.
 */
type Pair = [value: number, index: number];
type Less = (a: Pair, b: Pair) => boolean;

const greater: Less = (a, b) => (Number.isNaN(a[0]) && !Number.isNaN(b[0])) || a[0] > b[0];

function swap(v: Pair[], i: number, j: number): void {
  const t = v[i] as Pair;
  v[i] = v[j] as Pair;
  v[j] = t;
}

function pushHeap(v: Pair[], first: number, hole: number, top: number, value: Pair, less: Less): void {
  let parent = Math.floor((hole - 1) / 2);
  while (hole > top && less(v[first + parent] as Pair, value)) {
    v[first + hole] = v[first + parent] as Pair;
    hole = parent;
    parent = Math.floor((hole - 1) / 2);
  }
  v[first + hole] = value;
}

function adjustHeap(v: Pair[], first: number, hole: number, len: number, value: Pair, less: Less): void {
  const top = hole;
  let child = hole;
  while (child < Math.floor((len - 1) / 2)) {
    child = 2 * (child + 1);
    if (less(v[first + child] as Pair, v[first + child - 1] as Pair)) child--;
    v[first + hole] = v[first + child] as Pair;
    hole = child;
  }
  if ((len & 1) === 0 && child === Math.floor((len - 2) / 2)) {
    child = 2 * (child + 1);
    v[first + hole] = v[first + child - 1] as Pair;
    hole = child - 1;
  }
  pushHeap(v, first, hole, top, value, less);
}

function makeHeap(v: Pair[], first: number, last: number, less: Less): void {
  const len = last - first;
  if (len < 2) return;
  for (let parent = Math.floor((len - 2) / 2); ; parent--) {
    adjustHeap(v, first, parent, len, v[first + parent] as Pair, less);
    if (parent === 0) return;
  }
}

function popHeap(v: Pair[], first: number, last: number, result: number, less: Less): void {
  const value = v[result] as Pair;
  v[result] = v[first] as Pair;
  adjustHeap(v, first, 0, last - first, value, less);
}

function heapSelect(v: Pair[], first: number, middle: number, last: number, less: Less): void {
  makeHeap(v, first, middle, less);
  for (let i = middle; i < last; i++) if (less(v[i] as Pair, v[first] as Pair)) popHeap(v, first, middle, i, less);
}

function sortHeap(v: Pair[], first: number, last: number, less: Less): void {
  while (last - first > 1) {
    last--;
    popHeap(v, first, last, last, less);
  }
}

function moveMedianToFirst(v: Pair[], result: number, a: number, b: number, c: number, less: Less): void {
  const [A, B, C] = [v[a] as Pair, v[b] as Pair, v[c] as Pair];
  if (less(A, B)) {
    if (less(B, C)) swap(v, result, b);
    else if (less(A, C)) swap(v, result, c);
    else swap(v, result, a);
  } else if (less(A, C)) swap(v, result, a);
  else if (less(B, C)) swap(v, result, c);
  else swap(v, result, b);
}

function unguardedPartition(v: Pair[], first: number, last: number, pivot: number, less: Less): number {
  for (;;) {
    while (less(v[first] as Pair, v[pivot] as Pair)) first++;
    last--;
    while (less(v[pivot] as Pair, v[last] as Pair)) last--;
    if (!(first < last)) return first;
    swap(v, first, last);
    first++;
  }
}

function insertionSort(v: Pair[], first: number, last: number, less: Less): void {
  if (first === last) return;
  for (let i = first + 1; i < last; i++) {
    const val = v[i] as Pair;
    if (less(val, v[first] as Pair)) {
      for (let j = i; j > first; j--) v[j] = v[j - 1] as Pair;
      v[first] = val;
    } else {
      let hole = i;
      let next = i - 1;
      while (less(val, v[next] as Pair)) {
        v[hole] = v[next] as Pair;
        hole = next;
        next--;
      }
      v[hole] = val;
    }
  }
}

function nthElement(v: Pair[], first: number, nth: number, last: number, less: Less): void {
  if (first === last || nth === last) return;
  let depth = 2 * Math.floor(Math.log2(last - first));
  while (last - first > 3) {
    if (depth === 0) {
      heapSelect(v, first, nth + 1, last, less);
      swap(v, first, nth);
      return;
    }
    depth--;
    const mid = first + Math.floor((last - first) / 2);
    moveMedianToFirst(v, first, first + 1, mid, last - 1, less);
    const cut = unguardedPartition(v, first + 1, last, first, less);
    if (cut <= nth) first = cut;
    else last = cut;
  }
  insertionSort(v, first, last, less);
}

/** Indices of the k largest values in the order torch.topk(k, sorted=False) returns them on the CPU. */
export function torchTopkUnsorted(values: ArrayLike<number>, k: number): { indices: number[]; values: number[] } {
  const n = values.length;
  const v: Pair[] = Array.from({ length: n }, (_, i) => [values[i] as number, i] as Pair);
  if (k > 0 && k < n) {
    if (k * 64 <= n) {
      heapSelect(v, 0, k, n, greater);
      sortHeap(v, 0, k, greater);
    } else {
      nthElement(v, 0, k - 1, n, greater);
    }
  }
  const top = v.slice(0, Math.min(k, n));
  return { indices: top.map((p) => p[1]), values: top.map((p) => p[0]) };
}
