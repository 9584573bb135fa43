#include <stdlib.h>

#include "testutil.h"

int main(void)
{
    SRunner *sr = srunner_create(fpo_test_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
