// Which documented codes each conformance test file produces over real sockets. Each file checks
// that it produced exactly its list; test/conformance/docs.test.ts checks that together the lists
// are exactly the codes docs/protocol.md documents, so docs and behaviour agree both ways.
export const COVERS = {
  exchange: {
    errors: [
      1001, 1003, 1004, 1005, 1006, 1007, 1011, 1012, 1014,
      2001, 2002, 2003, 2004, 2005, 2006, 2007, 2008,
      3001, 3002, 3003, 3004, 3010, 3011, 3012, 3013, 3014, 3015, 3020, 3021, 3022,
      4001, 4002, 4003, 4004, 4005, 4006, 4007, 4008, 4009, 4010, 4011, 4012, 4013, 4014,
      5001, 5002, 5003, 5004, 5005, 5006, 5007, 5009, 5014, 5016, 5017, 5023, 5024, 5025, 5026, 5028, 5030, 5031, 5032, 5033, 5034, 5036, 5037, 5038, 5039,
      9002,
    ],
    closes: [1001, 1009, 1011, 4002, 4003, 4005],
  },
  transport: {
    errors: [1002, 1008, 1009, 1010, 1013, 9001],
    closes: [4001, 4004, 4007],
  },
  cafs: {
    errors: [6001, 6002, 6003, 6004, 6005, 6006, 6007],
    closes: [],
  },
  peer: {
    errors: [7001, 7002, 7003, 7004, 7005, 7006, 7007, 7008],
    closes: [1000, 4008, 4010, 4011, 4012, 4013, 4014, 4015],
  },
} as const;

export type CoverName = keyof typeof COVERS;
