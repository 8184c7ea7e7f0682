"""The experiment: a task bank of comparable features, a counterbalanced plan of provider orders, and the
matched and crossover comparisons preview makes from them (DESIGN §11, STATS.md)."""
