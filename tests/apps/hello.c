/* hello.c -- prints "Hello, world!" then each argv[i] (i >= 1) on its own line.
 * Args: any. Stdin: unused. Exit status 0. */
#include <stdio.h>

int main(int argc, char **argv)
{
    printf("Hello, world!\n");
    for (int i = 1; i < argc; i++)
        printf("%s\n", argv[i]);
    return 0;
}
