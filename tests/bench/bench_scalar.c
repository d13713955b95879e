int bench_scalar(void){return 0;}
