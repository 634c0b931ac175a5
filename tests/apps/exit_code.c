/* exit_code.c -- exits with status atoi(argv[1]) (0 if no argument).
 * Checks that the exit status is propagated (e.g. 0, 1, 42, 255). Prints nothing. */
#include <stdlib.h>

int main(int argc, char **argv)
{
    return argc > 1 ? atoi(argv[1]) : 0;
}
