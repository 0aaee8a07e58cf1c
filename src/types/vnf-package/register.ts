// VNF package type: registered by src/types/vnf-package (issue 3).
export {};
